package fake

import (
	"sync"
	"time"
)

// OffsetClock is the wall clock moved forward by every Advance so far: it keeps
// running, as a server's clock does, and a caller jumps it over a token lifetime or
// a revoke window without waiting. Give its Now to a fake's WithClock option. It is
// safe for concurrent use; the zero value reads the wall clock.
type OffsetClock struct {
	mu     sync.Mutex
	offset time.Duration
	now    func() time.Time // time.Now when nil
}

// NewOffsetClock returns an OffsetClock that reads the wall clock, not yet moved.
func NewOffsetClock() *OffsetClock { return &OffsetClock{} }

// Now returns the wall clock's time plus the offset.
func (c *OffsetClock) Now() time.Time {
	c.mu.Lock()
	off, now := c.offset, c.now
	c.mu.Unlock()
	if now == nil {
		now = time.Now
	}
	return now().Add(off)
}

// Advance moves the clock forward by d (a negative d is ignored) and returns the new
// time.
func (c *OffsetClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	if d > 0 {
		c.offset += d
	}
	c.mu.Unlock()
	return c.Now()
}

// Offset returns how far the clock has been moved ahead of the wall clock.
func (c *OffsetClock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// Reset puts the clock back on the wall clock.
func (c *OffsetClock) Reset() {
	c.mu.Lock()
	c.offset = 0
	c.mu.Unlock()
}
