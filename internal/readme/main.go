package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"time"
)

// step is one README example run against the fakes.
type step struct {
	name string
	run  func(ctx context.Context) error
}

var steps = []step{
	{"tkey7", runTKEY7},
	{"tpv", runTPV},
	{"kh", runKH},
	{"kh outcome", runKHOutcome},
	{"obp", runOBP},
	{"saltedge", runSaltEdge},
	{"errors", runErrors},
	{"credentials", runCredentials},
}

func main() {
	verbose := flag.Bool("v", false, "show what the examples log")
	flag.Parse()
	if !*verbose {
		log.SetOutput(io.Discard)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	failed := 0
	for _, s := range steps {
		start := time.Now()
		if err := s.run(ctx); err != nil {
			failed++
			fmt.Printf("FAIL %-12s %v\n", s.name, err)
			continue
		}
		fmt.Printf("ok   %-12s %v\n", s.name, time.Since(start).Round(time.Millisecond))
	}
	fmt.Printf("%d passed, %d failed\n", len(steps)-failed, failed)
	if failed > 0 {
		os.Exit(1)
	}
}
