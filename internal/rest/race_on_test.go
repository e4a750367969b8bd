//go:build race

package rest

// raceEnabled: the race detector is on; sync.Pool then drops some of what it is given,
// so allocation counts vary.
const raceEnabled = true
