package mdcode

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// Block is one fenced code block.
type Block struct {
	Lang  string   // the fence's info string ("go", "sh", ...), "" when none
	Line  int      // of the opening fence, from 1
	Above string   // the last non-blank line before the fence, outside any block, trimmed
	Lines []string // the block's lines, without the fences
}

// Blocks returns every fenced code block (```) of the Markdown file at path, in order;
// a block left open is an error.
func Blocks(path string) ([]Block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		blocks []Block
		cur    *Block
		above  string
		lineNo int
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		switch {
		case cur != nil && strings.HasPrefix(line, "```"):
			blocks = append(blocks, *cur)
			cur, above = nil, line
		case cur != nil:
			cur.Lines = append(cur.Lines, line)
		case strings.HasPrefix(line, "```"):
			cur = &Block{Lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), Line: lineNo, Above: above}
		case strings.TrimSpace(line) != "":
			above = strings.TrimSpace(line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%s:%d: a ```%s block is not closed", path, cur.Line, cur.Lang)
	}
	return blocks, nil
}
