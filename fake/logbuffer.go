package fake

import (
	"bytes"
	"log/slog"
	"sync"
)

// LogBuffer collects log output from several goroutines (a client's background
// refresher and the test), for tests that search the logs for secrets:
//
//	var logs fake.LogBuffer
//	client, _ := tpv.NewClient(..., tpv.WithLogger(logs.Logger()))
//	... // run the client
//	assert.NotContains(t, logs.String(), appSecret)
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger returns a debug-level text logger writing to l.
func (l *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
