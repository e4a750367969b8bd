package rest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLifecycleCloseCancelsAndWaits(t *testing.T) {
	l := NewLifecycle()
	require.NoError(t, l.Err())
	ctx, end, err := l.Begin(context.Background())
	require.NoError(t, err)

	ending := make(chan struct{})
	go func() {
		<-ctx.Done() // the work ends only when Close cancels it
		time.Sleep(10 * time.Millisecond)
		close(ending)
		end()
	}()
	closed := make(chan bool)
	go func() { closed <- l.Close() }()
	select {
	case first := <-closed:
		assert.True(t, first)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the work ended")
	}
	select {
	case <-ending:
	default:
		t.Fatal("Close returned before the work in flight called end")
	}
	assert.ErrorIs(t, ctx.Err(), context.Canceled)
	assert.ErrorIs(t, l.Err(), ErrClosed)
	_, _, err = l.Begin(context.Background())
	assert.ErrorIs(t, err, ErrClosed)
	assert.False(t, l.Close(), "a second Close reports that it closed nothing")
}

func TestLifecycleWorkEndsOnItsOwn(t *testing.T) {
	l := NewLifecycle()
	parent, cancel := context.WithCancel(context.Background())
	ctx, end, err := l.Begin(parent)
	require.NoError(t, err)
	cancel()
	assert.ErrorIs(t, ctx.Err(), context.Canceled, "the caller's context still bounds the work")
	end()
	end2ctx, end2, err := l.Begin(context.Background())
	require.NoError(t, err)
	end2()
	assert.ErrorIs(t, end2ctx.Err(), context.Canceled, "end releases the work's context")
	assert.True(t, l.Close())
}
