package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/kh/khtest"
	"github.com/banksdk/banksdk/obp/obptest"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// providerNames lists the providers in the order they are started and printed, and
// in the order of -ports.
var providerNames = []string{"tkey7", "tpv", "kh", "obp", "saltedge"}

// fakeServer is what every provider's fake offers the control API.
type fakeServer interface {
	Inject(n int, f fake.Fault)
	ClearFaults()
	Requests() []fake.Request
	ResetRequests()
	Reset()
	Close()
}

// provider is one running fake with its clock and what a client needs to reach it.
type provider struct {
	name  string
	srv   fakeServer
	clock *fake.OffsetClock

	mu     sync.Mutex
	info   providerInfo
	onInit func(p *provider) // sets the fake up after start and after every reset
}

// reset puts the provider's clock, fake and set-up back to the start.
func (p *provider) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clock.Reset()
	p.srv.Reset()
	if p.onInit != nil {
		p.onInit(p)
	}
}

// snapshot returns the provider's current info.
func (p *provider) snapshot() providerInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	info := p.info
	info.Credentials = append(fields(nil), p.info.Credentials...)
	return info
}

// providerInfo is what the startup output and GET / say about one provider.
type providerInfo struct {
	// URL is the base URL a client takes.
	URL string `json:"url"`
	// SCAURL is the K&H redirect SCA screen.
	SCAURL string `json:"sca_url,omitempty"`
	// Credentials are named after the client options they feed.
	Credentials fields `json:"credentials"`
	// Control is the base of this provider's control endpoints.
	Control string `json:"control"`
}

// field is one named value of a JSON object whose order matters to a reader.
type field struct{ Name, Value string }

// fields is a JSON object that keeps its order.
type fields []field

// MarshalJSON writes the fields as one object, in order.
func (fs fields) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(f.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads an object of strings, in order (for the tests and for tools
// that decode the startup output into this type).
func (fs *fields) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("credentials: want an object")
	}
	*fs = nil
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		var v string
		if err := dec.Decode(&v); err != nil {
			return fmt.Errorf("credentials: %s: %w", name, err)
		}
		*fs = append(*fs, field{name, v})
	}
	_, err = dec.Token()
	return err
}

// Get returns the value of the field named name, or "".
func (fs fields) Get(name string) string {
	for _, f := range fs {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// deriver derives test credentials from a seed, so that the same seed gives the same
// credentials on every run.
type deriver struct{ key []byte }

// bytes returns n bytes for label: HMAC-SHA256(seed, label || counter) blocks.
func (d deriver) bytes(label string, n int) []byte {
	out := make([]byte, 0, n+sha256.Size)
	for i := uint32(0); len(out) < n; i++ {
		m := hmac.New(sha256.New, d.key)
		m.Write([]byte(label))
		var c [4]byte
		binary.BigEndian.PutUint32(c[:], i)
		m.Write(c[:])
		out = m.Sum(out)
	}
	return out[:n]
}

func (d deriver) hex(label string, n int) string {
	return hex.EncodeToString(d.bytes(label, (n+1)/2))[:n]
}

const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func (d deriver) alnum(label string, n int) string {
	b := d.bytes(label, n)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// jwtShaped returns a token with a JWT's shape (header, claims, signature), as K&H's
// tokens are.
func (d deriver) jwtShaped(label string, claims map[string]string) string {
	enc := base64.RawURLEncoding
	c, _ := json.Marshal(claims)
	return enc.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`)) + "." + enc.EncodeToString(c) + "." +
		enc.EncodeToString(d.bytes(label, 32))
}

// startConfig says where the fakes listen and where key files go.
type startConfig struct {
	listeners map[string]net.Listener // by provider name, and "kh-sca"
	certsDir  string
	seed      deriver
}

// writeFile writes a test credential file readable by its owner only.
func writeFile(dir, name string, data []byte) (string, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// startProviders starts the five fakes. On error it closes those it started.
func startProviders(cfg startConfig) (_ []*provider, err error) {
	var started []*provider
	defer func() {
		if err != nil {
			for _, p := range started {
				p.srv.Close()
			}
		}
	}()
	for _, start := range []func(startConfig) (*provider, error){startTKEY7, startTPV, startKH, startOBP, startSaltEdge} {
		p, err := start(cfg)
		if err != nil {
			return nil, err
		}
		if p.onInit != nil {
			p.onInit(p)
		}
		started = append(started, p)
	}
	return started, nil
}

func startTKEY7(cfg startConfig) (*provider, error) {
	clock := fake.NewOffsetClock()
	srv := tkey7test.NewServer(tkey7test.WithClock(clock.Now), tkey7test.WithListener(cfg.listeners["tkey7"]))
	token := "tk7_" + cfg.seed.hex("tkey7 access token", 40)
	p := &provider{name: "tkey7", srv: srv, clock: clock}
	p.info.URL = srv.URL()
	p.onInit = func(p *provider) {
		issuedAt := clock.Now()
		srv.IssueToken(tkey7test.TokenValue(token), tkey7test.IssuedAt(issuedAt))
		p.info.Credentials = fields{
			{"access_token", token},
			{"issued_at", issuedAt.UTC().Format(time.RFC3339Nano)},
			{"revoke_after", srv.RevokeAfter().String()},
			{"session_length", srv.SessionLength().String()},
			{"refresh_endpoint", "POST " + tkey7test.DefaultRefreshPath},
		}
	}
	return p, nil
}

func startTPV(cfg startConfig) (*provider, error) {
	clock := fake.NewOffsetClock()
	appToken := "AP" + cfg.seed.alnum("tpv app token", 46)
	appSecret := base64.StdEncoding.EncodeToString(cfg.seed.bytes("tpv app secret", 32))
	srv := tpvtest.NewServer(tpvtest.WithCredentials(appToken, appSecret), tpvtest.WithClock(clock.Now),
		tpvtest.WithListener(cfg.listeners["tpv"]))
	p := &provider{name: "tpv", srv: srv, clock: clock}
	p.info.URL = srv.URL()
	p.info.Credentials = fields{
		{"app_token", srv.AppToken()},
		{"app_secret", srv.AppSecret()},
		{"token_ttl", tpvtest.DefaultTokenTTL.String()},
		{"max_skew", tpvtest.DefaultMaxSkew.String()},
	}
	return p, nil
}

func startKH(cfg startConfig) (*provider, error) {
	clock := fake.NewOffsetClock()
	pki, err := khtest.NewPKI()
	if err != nil {
		return nil, err
	}
	certPEM, keyPEM := pki.ClientCertificatePEM()
	certFile, err := writeFile(cfg.certsDir, "kh-client-cert.pem", certPEM)
	if err != nil {
		return nil, err
	}
	keyFile, err := writeFile(cfg.certsDir, "kh-client-key.pem", keyPEM)
	if err != nil {
		return nil, err
	}
	caFile, err := writeFile(cfg.certsDir, "kh-root-ca.pem", pki.CACertificatePEM())
	if err != nil {
		return nil, err
	}
	appToken := cfg.seed.jwtShaped("kh app token", map[string]string{"iss": "fakebank", "sub": khtest.DefaultAppID, "typ": "app"})
	srv := khtest.NewServer(khtest.WithPKI(pki), khtest.WithClock(clock.Now), khtest.WithAppToken(appToken),
		khtest.WithListener(cfg.listeners["kh"]), khtest.WithSCAListener(cfg.listeners["kh-sca"]))
	p := &provider{name: "kh", srv: srv, clock: clock}
	p.info.URL = srv.URL()
	p.info.SCAURL = srv.SCAURL()
	psu, password, otp := srv.PSU()
	p.info.Credentials = fields{
		{"client_certificate_file", certFile},
		{"client_key_file", keyFile},
		{"root_ca_file", caFile},
		{"application_id", srv.ApplicationID()},
		{"app_token", srv.AppToken()},
		{"psu_id", psu},
		{"psu_password", password},
		{"psu_otp", otp},
	}
	return p, nil
}

func startOBP(cfg startConfig) (*provider, error) {
	clock := fake.NewOffsetClock()
	srv := obptest.NewServer(obptest.WithClock(clock.Now), obptest.WithListener(cfg.listeners["obp"]),
		obptest.WithPassword("pw-"+cfg.seed.hex("obp password", 24)),
		obptest.WithConsumerKey(cfg.seed.hex("obp consumer key", 40)))
	keyFile, err := writeFile(cfg.certsDir, "obp-dauth-key.pem", srv.DAuthPrivateKeyPEM())
	if err != nil {
		srv.Close()
		return nil, err
	}
	p := &provider{name: "obp", srv: srv, clock: clock}
	p.info.URL = srv.URL()
	p.info.Credentials = fields{
		{"username", obptest.DefaultUsername},
		{"password", srv.Password()},
		{"consumer_key", srv.ConsumerKey()},
		{"dauth_private_key_file", keyFile},
		{"dauth_smart_contract_address", obptest.DefaultSmartContractAddress},
		{"dauth_network_name", obptest.DefaultNetworkName},
		{"dauth_msg_sender", obptest.DefaultMsgSender},
		{"bank_id", obptest.DefaultBankID},
		{"account_id", obptest.DefaultAccountID},
	}
	p.onInit = func(*provider) {
		// The DAuth identity holds the owner view of the default account, as the
		// DirectLogin user does.
		id := srv.EnsureUser(obptest.DefaultSmartContractAddress, obptest.DAuthProviderPrefix+obptest.DefaultNetworkName)
		_ = srv.GrantAccess(obptest.DefaultBankID, obptest.DefaultAccountID, id, obptest.ViewOwner)
	}
	return p, nil
}

func startSaltEdge(cfg startConfig) (*provider, error) {
	clock := fake.NewOffsetClock()
	srv := saltedgetest.NewServer(saltedgetest.WithClock(clock.Now), saltedgetest.WithListener(cfg.listeners["saltedge"]),
		saltedgetest.WithAppCredentials(cfg.seed.alnum("saltedge app id", 22), cfg.seed.alnum("saltedge app secret", 22)))
	privFile, err := writeFile(cfg.certsDir, "saltedge-private-key.pem", saltedgetest.PrivateKeyPEM(srv.PrivateKey()))
	if err != nil {
		srv.Close()
		return nil, err
	}
	pubFile, err := writeFile(cfg.certsDir, "saltedge-public-key.pem", srv.PublicKeyPEM())
	if err != nil {
		srv.Close()
		return nil, err
	}
	p := &provider{name: "saltedge", srv: srv, clock: clock}
	p.info.URL = srv.URL()
	p.info.Credentials = fields{
		{"app_id", srv.AppID()},
		{"app_secret", srv.AppSecret()},
		{"private_key_file", privFile},
		{"public_key_file", pubFile},
		{"callback_prefix", saltedgetest.CallbackPrefix},
	}
	return p, nil
}
