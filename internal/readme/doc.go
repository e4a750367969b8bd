// Command readme is the README's Go code, built and run. Every ```go block of the
// README is a region of one of these files, between "// readme:begin <name>" and
// "// readme:end <name>"; the root package's TestReadmeGoBlocksAreCompiledCode fails
// when a block and its region differ, and this program runs every region against the
// fake servers (go run ./internal/readme; .ci/run also builds and runs it as a module
// outside the repository, importing only banksdk's public packages).
package main
