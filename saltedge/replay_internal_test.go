package saltedge

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The memory store refuses an id until its until, forgets it afterwards, and stays
// within its capacity: full of live ids it refuses (fails closed) rather than evicting
// one that could then be replayed.
func TestMemoryReplayStore(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewMemoryReplayStore(2)
	s.now = func() time.Time { return now }

	first, err := s.SeenOnce(ctx, "a", now.Add(time.Minute))
	require.NoError(t, err)
	assert.True(t, first)
	first, err = s.SeenOnce(ctx, "a", now.Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, first, "a second sighting before until")

	first, err = s.SeenOnce(ctx, "b", now.Add(2*time.Minute))
	require.NoError(t, err)
	assert.True(t, first)
	_, err = s.SeenOnce(ctx, "c", now.Add(time.Minute))
	assert.ErrorIs(t, err, ErrReplayStoreFull)
	assert.Equal(t, 2, s.Len())

	now = now.Add(time.Minute) // a's until: a is forgotten, its slot is free
	first, err = s.SeenOnce(ctx, "c", now.Add(time.Minute))
	require.NoError(t, err)
	assert.True(t, first)
	first, err = s.SeenOnce(ctx, "a", now.Add(time.Minute))
	assert.ErrorIs(t, err, ErrReplayStoreFull, "b and c are live")
	assert.False(t, first)
	first, err = s.SeenOnce(ctx, "b", now.Add(time.Minute))
	require.NoError(t, err)
	assert.False(t, first, "b lives until +2m")

	now = now.Add(2 * time.Minute)
	first, err = s.SeenOnce(ctx, "a", now.Add(time.Minute))
	require.NoError(t, err)
	assert.True(t, first, "a expired long ago")
	assert.Equal(t, 1, s.Len(), "b and c were purged")

	first, err = s.SeenOnce(ctx, "old", now.Add(-time.Second))
	require.NoError(t, err)
	assert.True(t, first, "an id already past its until is not stored")
	assert.Equal(t, 1, s.Len())

	assert.Equal(t, DefaultReplayCapacity, NewMemoryReplayStore(0).capacity)
}

func TestReplayIDIsADigest(t *testing.T) {
	id := replayID("header.payload.signature")
	assert.Len(t, id, 64)
	assert.NotEqual(t, id, replayID("header.payload.signaturf"))
	assert.NotContains(t, id, "payload")
}
