package redisstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/redis/go-redis/v9"
)

// Store is an auth.Store on Redis. It is safe for concurrent use.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	current string                 // key id used to encrypt
	aeads   map[string]cipher.AEAD // every key id that can decrypt
	now     func() time.Time
}

var _ auth.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store) error

// WithEncryptionKey sets the 32-byte AES-256 key that encrypts new records, under a
// key id stored beside each record. Required.
func WithEncryptionKey(id string, key []byte) Option {
	return func(s *Store) error {
		if err := s.addKey(id, key); err != nil {
			return err
		}
		s.current = id
		return nil
	}
}

// WithDecryptionKey adds an older key that can still decrypt records written before
// a key rotation.
func WithDecryptionKey(id string, key []byte) Option {
	return func(s *Store) error { return s.addKey(id, key) }
}

// WithPrefix sets the prefix of every Redis key (default "banksdk:auth:").
func WithPrefix(p string) Option {
	return func(s *Store) error {
		if p == "" {
			return errors.New("redisstore: prefix must not be empty")
		}
		s.prefix = p
		return nil
	}
}

func (s *Store) addKey(id string, key []byte) error {
	if id == "" {
		return errors.New("redisstore: key id must not be empty")
	}
	if len(key) != 32 {
		return fmt.Errorf("redisstore: key %q must be 32 bytes (AES-256), got %d", id, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("redisstore: key %q: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("redisstore: key %q: %w", id, err)
	}
	s.aeads[id] = aead
	return nil
}

// New returns a Store on rdb (a *redis.Client, cluster or ring client).
func New(rdb redis.UniversalClient, opts ...Option) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisstore: Redis client is required")
	}
	s := &Store{rdb: rdb, prefix: "banksdk:auth:", aeads: map[string]cipher.AEAD{}, now: time.Now}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	if s.current == "" {
		return nil, errors.New("redisstore: an encryption key is required (WithEncryptionKey)")
	}
	return s, nil
}

// String never shows keys.
func (s *Store) String() string { return "redisstore.Store{prefix: " + strconv.Quote(s.prefix) + "}" }

// GoString never shows keys.
func (s *Store) GoString() string { return s.String() }

// record is what Redis holds: metadata in clear, the token sealed. Every field is
// authenticated: the metadata is the ciphertext's additional data (see aad).
type record struct {
	Format  int    `json:"f"`
	Version int64  `json:"v"`
	Updated int64  `json:"u"` // unix nanoseconds, the writer's clock
	KeyID   string `json:"kid"`
	Nonce   []byte `json:"n"`
	Sealed  []byte `json:"c"`
}

// recordFormat is the current record layout. Records without it (written before the
// update time was authenticated) are unreadable, and replaced by the next writer.
const recordFormat = 2

type plaintext struct {
	Value  string    `json:"value"`
	Expiry time.Time `json:"expiry,omitzero"`
}

func (s *Store) recordKey(key string) string { return s.prefix + "cred:" + key }
func (s *Store) leaseKey(key string) string  { return s.prefix + "lease:" + key }
func (s *Store) fenceKey(key string) string  { return s.prefix + "fence:" + key }

// aad binds a ciphertext to its Redis key and to every clear field of its record
// (format, version, update time, key id): a record cannot be moved to another key,
// replayed under another version, or made to look newer or older than it is.
func aad(redisKey string, rec *record) []byte {
	return []byte("banksdk/redisstore/" + strconv.Itoa(rec.Format) + "\x00" + redisKey + "\x00" +
		strconv.FormatInt(rec.Version, 10) + "\x00" + strconv.FormatInt(rec.Updated, 10) + "\x00" + rec.KeyID)
}

func (s *Store) seal(redisKey string, version int64, tok auth.Token) ([]byte, error) {
	pt, err := json.Marshal(plaintext{Value: tok.Value, Expiry: tok.Expiry})
	if err != nil {
		return nil, err
	}
	aead := s.aeads[s.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	rec := record{
		Format:  recordFormat,
		Version: version,
		Updated: s.now().UnixNano(),
		KeyID:   s.current,
		Nonce:   nonce,
	}
	rec.Sealed = aead.Seal(nil, nonce, pt, aad(redisKey, &rec))
	return json.Marshal(rec)
}

// open reads a record. A record it cannot read (not a record, an older format, an
// unknown key id, failed authentication) yields an error wrapping auth.ErrUnreadable
// and a Record carrying only the version CompareAndSwap must name to replace it.
// Errors never include the record's bytes.
func (s *Store) open(redisKey string, data []byte) (auth.Record, error) {
	unreadable := func(format string, args ...any) (auth.Record, error) {
		return auth.Record{Version: storedVersion(data)},
			fmt.Errorf("redisstore: record %q %s: %w", redisKey, fmt.Sprintf(format, args...), auth.ErrUnreadable)
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return unreadable("is not a banksdk record")
	}
	if rec.Format != recordFormat {
		return unreadable("has format %d, not %d (written by an older redisstore)", rec.Format, recordFormat)
	}
	aead, ok := s.aeads[rec.KeyID]
	if !ok {
		kid := rec.KeyID
		if len(kid) > 64 {
			kid = kid[:64] + "..."
		}
		return unreadable("is sealed with unknown key id %q", kid)
	}
	if len(rec.Nonce) != aead.NonceSize() {
		return unreadable("has a malformed nonce")
	}
	pt, err := aead.Open(nil, rec.Nonce, rec.Sealed, aad(redisKey, &rec))
	if err != nil {
		return unreadable("failed authentication (wrong key, or tampered)")
	}
	var p plaintext
	if err := json.Unmarshal(pt, &p); err != nil {
		return unreadable("has an invalid payload")
	}
	return auth.Record{Token: auth.Token{Value: p.Value, Expiry: p.Expiry}, Version: rec.Version, Updated: time.Unix(0, rec.Updated)}, nil
}

// maxVersion is the largest version both Go and Redis's Lua (doubles) read exactly.
const maxVersion = 1 << 53

// storedVersion is the version casScript sees in data: its "v" when data is a JSON
// object whose "v" is a whole number in [1, 2^53], otherwise 0 (as if absent).
func storedVersion(data []byte) int64 {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return 0
	}
	var v float64
	if raw, ok := m["v"]; !ok || json.Unmarshal(raw, &v) != nil {
		return 0
	}
	if v < 1 || v > maxVersion || v != math.Trunc(v) {
		return 0
	}
	return int64(v)
}

func redisErr(op, key string, err error) error {
	return fmt.Errorf("redisstore: %s %q: %w", op, key, err)
}

// Load implements auth.Store.
func (s *Store) Load(ctx context.Context, key string) (auth.Record, error) {
	rk := s.recordKey(key)
	data, err := s.rdb.Get(ctx, rk).Bytes()
	if errors.Is(err, redis.Nil) {
		return auth.Record{}, auth.ErrNotFound
	}
	if err != nil {
		return auth.Record{}, redisErr("GET", rk, err)
	}
	return s.open(rk, data)
}

// casScript writes ARGV[2] if the stored record's version is ARGV[1] (0: absent, or
// no readable version: the same rule as storedVersion, so that an unreadable record
// can be replaced).
var casScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local ver = 0
if cur then
  local ok, rec = pcall(cjson.decode, cur)
  if ok and type(rec) == 'table' then
    local v = rec['v']
    if type(v) == 'number' and v >= 1 and v <= 9007199254740992 and math.floor(v) == v then ver = v end
  end
end
if ver ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`)

// CompareAndSwap implements auth.Store.
func (s *Store) CompareAndSwap(ctx context.Context, key string, version int64, tok auth.Token) (auth.Record, error) {
	rk := s.recordKey(key)
	data, err := s.seal(rk, version+1, tok)
	if err != nil {
		return auth.Record{}, fmt.Errorf("redisstore: sealing record: %w", err)
	}
	ok, err := casScript.Run(ctx, s.rdb, []string{rk}, version, data).Int()
	if err != nil {
		return auth.Record{}, redisErr("compare-and-swap", rk, err)
	}
	if ok != 1 {
		return auth.Record{}, auth.ErrVersionConflict
	}
	return s.open(rk, data)
}

// Save implements auth.Store: a compare-and-swap against the current version,
// retried a few times under contention. It replaces an unreadable record too.
func (s *Store) Save(ctx context.Context, key string, tok auth.Token) (auth.Record, error) {
	for range 10 {
		var version int64
		rec, err := s.Load(ctx, key)
		switch {
		case err == nil || errors.Is(err, auth.ErrUnreadable):
			version = rec.Version
		case !errors.Is(err, auth.ErrNotFound):
			return auth.Record{}, err
		}
		r, err := s.CompareAndSwap(ctx, key, version, tok)
		if !errors.Is(err, auth.ErrVersionConflict) {
			return r, err
		}
	}
	return auth.Record{}, auth.ErrVersionConflict
}

// releaseScript deletes the lease only if it still holds our fencing token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// TryLease implements auth.Store: SET NX PX with a fencing token (an increasing
// counter per key); release deletes the lease only while it still holds that token,
// so a holder whose lease expired cannot release its successor's. Publishing stays
// safe even then, because records are written by version compare-and-swap.
func (s *Store) TryLease(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if ttl < time.Millisecond {
		return nil, false, errors.New("redisstore: lease TTL must be at least 1ms")
	}
	lk := s.leaseKey(key)
	fence, err := s.rdb.Incr(ctx, s.fenceKey(key)).Result()
	if err != nil {
		return nil, false, redisErr("INCR", s.fenceKey(key), err)
	}
	token := strconv.FormatInt(fence, 10)
	ok, err := s.rdb.SetNX(ctx, lk, token, ttl).Result()
	if err != nil {
		return nil, false, redisErr("SET NX", lk, err)
	}
	if !ok {
		return nil, false, nil
	}
	release := func(ctx context.Context) error {
		if err := releaseScript.Run(ctx, s.rdb, []string{lk}, token).Err(); err != nil {
			return redisErr("release", lk, err)
		}
		return nil
	}
	return release, true, nil
}
