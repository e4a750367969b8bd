// Package browsertest drives the fake banks' browser-facing pages with a real
// headless Chromium (through chromedp), as a PSU would: today the K&H redirect SCA
// screen of khtest, from the consent the kh client creates to the redirect back to
// the TPP.
//
// It is a module of its own, so chromedp stays out of banksdk's requirements. The
// tests find Chromium on PATH (chromium, chromium-browser, google-chrome,
// google-chrome-stable); without one they skip, or fail when CI=true. On Debian:
//
//	apt-get update && apt-get install -y chromium
//	cd internal/browsertest && go test -count=1 -v ./...
//
// The fake serves its screen over HTTPS with certificates of its own CA. The browser
// trusts exactly those certificates (and the test TPP's) by their public keys
// (--ignore-certificate-errors-spki-list), not every certificate.
//
// Set BANKSDK_SCREENSHOTS to a directory to keep the screenshots of every page step;
// by default they go to the test's temporary directory, and the test logs their paths.
package browsertest
