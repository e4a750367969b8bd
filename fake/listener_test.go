package fake

import (
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithListenerServesOnTheGivenAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	s := Start(http.HandlerFunc(okHandler), WithListener(ln))
	assert.Equal(t, "http://"+addr, s.URL())
	resp, err := s.Client().Get("http://" + addr + "/x")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, `{"ok":true}`, string(body))
	require.Len(t, s.Requests(), 1)
	assert.Equal(t, "/x", s.Requests()[0].Path)
	assert.NotEmpty(t, s.Requests()[0].RawHeaders, "the raw header capture works on a given listener")

	s.Close()
	_, err = ln.Accept()
	assert.True(t, errors.Is(err, net.ErrClosed), "Close closes the listener it took over: %v", err)
}

func TestResetDropsFaultsAndLog(t *testing.T) {
	s := Start(http.HandlerFunc(okHandler))
	defer s.Close()
	s.Inject(2, Status(503, ""))
	resp, err := s.Client().Get(s.URL() + "/a")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, 503, resp.StatusCode)
	require.Len(t, s.Requests(), 1)

	s.Reset()
	assert.Empty(t, s.Requests())
	resp, err = s.Client().Get(s.URL() + "/b")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode, "the second injected fault is gone")
	require.Len(t, s.Requests(), 1)
	assert.Equal(t, "/b", s.Requests()[0].Path)
}

func TestOffsetClock(t *testing.T) {
	wall := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &OffsetClock{now: func() time.Time { return wall }}
	assert.Equal(t, wall, c.Now())
	assert.Equal(t, wall.Add(15*time.Minute), c.Advance(15*time.Minute))
	assert.Equal(t, wall.Add(15*time.Minute), c.Advance(-time.Hour), "a negative advance is ignored")
	wall = wall.Add(time.Second) // the wall clock runs on
	assert.Equal(t, wall.Add(15*time.Minute), c.Now())
	assert.Equal(t, 15*time.Minute, c.Offset())
	c.Reset()
	assert.Equal(t, wall, c.Now())

	var zero OffsetClock
	before := time.Now()
	got := zero.Advance(time.Hour)
	assert.False(t, got.Before(before.Add(time.Hour)), "the zero value reads the wall clock")
}
