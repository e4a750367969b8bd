package saltedge

import (
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ReplayStore remembers the JWTs a Handler accepted, so that a JWT is served once
// (HandlerConfig.ReplayStore). The handler hands it an id derived from the whole
// token (a SHA-256 hex digest, never the token itself) and the time after which the
// token would be refused as expired anyway.
//
// Implementations must be safe for concurrent use and atomic across every replica
// that shares them: a Redis implementation is one SET id 1 NX PXAT until, with first
// true when the key was set.
type ReplayStore interface {
	// SeenOnce records id until the given time and reports whether this is the first
	// time id was recorded (first is false for an id recorded before and not yet
	// past its until). An error makes the handler answer 500 InternalServerError
	// without calling the Connector.
	SeenOnce(ctx context.Context, id string, until time.Time) (first bool, err error)
}

// DefaultReplayCapacity is the number of ids a MemoryReplayStore holds when
// NewMemoryReplayStore is given no capacity.
const DefaultReplayCapacity = 100_000

// ErrReplayStoreFull is returned by MemoryReplayStore.SeenOnce when every slot holds
// an id that has not expired yet: the request is refused rather than letting an
// earlier JWT be replayed.
var ErrReplayStoreFull = errors.New("saltedge: replay store is full")

// MemoryReplayStore is a ReplayStore for a single process: a bounded set of ids,
// each forgotten once its until has passed. It is safe for concurrent use. Connectors
// running several replicas need a shared store instead (see ReplayStore).
type MemoryReplayStore struct {
	mu       sync.Mutex
	capacity int
	seen     map[string]time.Time
	order    untilHeap
	now      func() time.Time
}

// NewMemoryReplayStore returns an in-memory store holding at most capacity ids (0 or
// less: DefaultReplayCapacity). Ids live until their JWT expires (the handler's
// maximum lifetime plus leeway at most), so capacity bounds the requests accepted in
// that window.
func NewMemoryReplayStore(capacity int) *MemoryReplayStore {
	if capacity <= 0 {
		capacity = DefaultReplayCapacity
	}
	return &MemoryReplayStore{capacity: capacity, seen: map[string]time.Time{}, now: time.Now}
}

// SeenOnce implements ReplayStore.
func (s *MemoryReplayStore) SeenOnce(_ context.Context, id string, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for len(s.order) > 0 && !now.Before(s.order[0].until) {
		e := heap.Pop(&s.order).(untilEntry)
		if u, ok := s.seen[e.id]; ok && u.Equal(e.until) {
			delete(s.seen, e.id)
		}
	}
	if u, ok := s.seen[id]; ok && now.Before(u) {
		return false, nil
	}
	if !now.Before(until) {
		return true, nil // already expired: nothing to remember
	}
	if len(s.seen) >= s.capacity {
		return false, fmt.Errorf("%w (%d ids not expired yet)", ErrReplayStoreFull, len(s.seen))
	}
	s.seen[id] = until
	heap.Push(&s.order, untilEntry{id: id, until: until})
	return true, nil
}

// Len returns how many ids the store holds (expired ones included until the next
// SeenOnce purges them).
func (s *MemoryReplayStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

type untilEntry struct {
	id    string
	until time.Time
}

// untilHeap is a min-heap of ids by until.
type untilHeap []untilEntry

func (h untilHeap) Len() int           { return len(h) }
func (h untilHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h untilHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *untilHeap) Push(x any)        { *h = append(*h, x.(untilEntry)) }
func (h *untilHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// replayID is the id a ReplayStore sees for a token: its SHA-256, so the store never
// holds a credential.
func replayID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
