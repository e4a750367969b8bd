// Package mdcode reads the fenced code blocks of a Markdown file, for the tests that
// hold a README's code to being code: its Go blocks compiled, its shell commands run.
package mdcode
