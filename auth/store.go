package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"
)

// Store errors.
var (
	ErrNotFound        = errors.New("auth: store: no credential under that key")
	ErrVersionConflict = errors.New("auth: store: credential was changed by someone else")
	// ErrUnreadable: the record under the key cannot be read (corrupted, tampered
	// with, sealed with a key this replica does not have, or written in an older
	// format). It is not an outage: a replica that holds the refresh lease replaces it.
	ErrUnreadable = errors.New("auth: store: stored credential cannot be read")
)

// Record is a stored credential and its version. Versions increase by one with every
// write; 0 means "absent". Updated is when it was written (the writer's clock).
type Record struct {
	Token   Token
	Version int64
	Updated time.Time
}

// Store shares credentials between replicas, so that one credential per account is
// refreshed by one replica at a time and the others use its result.
type Store interface {
	// Load returns the record under key, or ErrNotFound. A record that cannot be
	// read yields an error wrapping ErrUnreadable together with a Record that carries
	// only the Version a CompareAndSwap must name to replace it.
	Load(ctx context.Context, key string) (Record, error)
	// Save stores tok unconditionally (replacing an unreadable record too) and
	// returns the new record.
	Save(ctx context.Context, key string, tok Token) (Record, error)
	// CompareAndSwap stores tok only if the stored version is still version (0: no
	// record yet); otherwise it returns ErrVersionConflict.
	CompareAndSwap(ctx context.Context, key string, version int64, tok Token) (Record, error)
	// TryLease takes the refresh lease for key for ttl. ok is false when another
	// holder has it. release gives it back, only if it is still ours.
	TryLease(ctx context.Context, key string, ttl time.Duration) (release func(context.Context) error, ok bool, err error)
}

// MemoryStore is an in-process Store, for one replica and for tests.
type MemoryStore struct {
	mu     sync.Mutex
	recs   map[string]Record
	leases map[string]memLease
	now    func() time.Time
}

type memLease struct {
	id      string
	expires time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{recs: map[string]Record{}, leases: map[string]memLease{}, now: time.Now}
}

// Load implements Store.
func (s *MemoryStore) Load(ctx context.Context, key string) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[key]
	if !ok {
		return Record{}, ErrNotFound
	}
	return r, nil
}

// Save implements Store.
func (s *MemoryStore) Save(ctx context.Context, key string, tok Token) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := Record{Token: tok, Version: s.recs[key].Version + 1, Updated: s.now()}
	s.recs[key] = r
	return r, nil
}

// CompareAndSwap implements Store.
func (s *MemoryStore) CompareAndSwap(ctx context.Context, key string, version int64, tok Token) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recs[key].Version != version {
		return Record{}, ErrVersionConflict
	}
	r := Record{Token: tok, Version: version + 1, Updated: s.now()}
	s.recs[key] = r
	return r, nil
}

// TryLease implements Store.
func (s *MemoryStore) TryLease(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	if ttl <= 0 {
		return nil, false, errors.New("auth: store: lease TTL must be positive")
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if l, ok := s.leases[key]; ok && now.Before(l.expires) {
		return nil, false, nil
	}
	s.leases[key] = memLease{id: id, expires: now.Add(ttl)}
	release := func(context.Context) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if l, ok := s.leases[key]; ok && l.id == id {
			delete(s.leases, key)
		}
		return nil
	}
	return release, true, nil
}
