package banksdk

// Version is the release of this module, without the leading "v" of its Git tag
// (module version "v"+Version). Every provider client sends it in its User-Agent
// header as banksdk-go/<Version>. It changes only with a release, together with the
// CHANGELOG.
const Version = "0.1.0"
