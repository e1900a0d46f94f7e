// tlogcheck: checks agentguard's signed log with Go's reference
// transparency-log packages (golang.org/x/mod/sumdb/note and sumdb/tlog,
// from Debian's golang-golang-x-mod-dev), independently of agentguard's C
// code. Built offline by tests/tools/tlogcheck/build.sh.
//
//	tlogcheck note VKEY FILE          a checkpoint: note.Open with the key
//	tlogcheck inclusion VKEY PROOF    `agentguard log proof` output: the
//	                                  checkpoint, tlog.CheckRecord, the entry
//	tlogcheck consistency VKEY PROOF  `agentguard log consistency` output:
//	                                  both checkpoints, tlog.CheckTree
//	tlogcheck leaves VKEY LOGDIR      the leaves store against the newest
//	                                  checkpoint (tlog.TreeHash), and every
//	                                  entry line present against its leaf
//
// VKEY is a file holding the verifier key, or the key itself. Prints one
// "ok ..." line and exits 0, or prints "tlogcheck: ..." and exits 1.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

func verifier(arg string) note.Verifier {
	key := arg
	if b, err := os.ReadFile(arg); err == nil {
		key = strings.TrimSpace(string(b))
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		die("verifier key: %v", err)
	}
	return v
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// openCheckpoint verifies a signed checkpoint note and parses its body.
func openCheckpoint(v note.Verifier, msg []byte) checkpoint {
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		die("checkpoint: note.Open: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[3] != "" {
		die("checkpoint: want 3 lines, got %q", n.Text)
	}
	if lines[0] != v.Name() {
		die("checkpoint: origin %q is not the key's name %q", lines[0], v.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 {
		die("checkpoint: bad size %q", lines[1])
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		die("checkpoint: bad root %q: %v", lines[2], err)
	}
	return checkpoint{lines[0], size, root}
}

func readJSON(path string, v interface{}) {
	b, err := os.ReadFile(path)
	if err != nil {
		die("%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		die("%s: %v", path, err)
	}
}

type inclusionProof struct {
	Proof         string      `json:"proof"`
	Origin        string      `json:"origin"`
	LeafIndex     int64       `json:"leaf_index"`
	TreeSize      int64       `json:"tree_size"`
	LeafHash      tlog.Hash   `json:"leaf_hash"`
	InclusionPath []tlog.Hash `json:"inclusion_path"`
	RootHash      tlog.Hash   `json:"root_hash"`
	Checkpoint    *string     `json:"checkpoint"`
	Entry         *string     `json:"entry"`
}

type consistencyProof struct {
	Proof           string      `json:"proof"`
	Origin          string      `json:"origin"`
	TreeSize1       int64       `json:"tree_size_1"`
	TreeSize2       int64       `json:"tree_size_2"`
	RootHash1       tlog.Hash   `json:"root_hash_1"`
	RootHash2       tlog.Hash   `json:"root_hash_2"`
	ConsistencyPath []tlog.Hash `json:"consistency_path"`
	Checkpoint1     *string     `json:"checkpoint_1"`
	Checkpoint2     *string     `json:"checkpoint_2"`
}

func checkSigned(v note.Verifier, text *string, size int64, root tlog.Hash, what string) {
	if text == nil {
		die("%s: the proof carries no signed checkpoint", what)
	}
	cp := openCheckpoint(v, []byte(*text))
	if cp.size != size || cp.root != root {
		die("%s: the checkpoint (size %d, root %v) is not the proof's (size %d, root %v)",
			what, cp.size, cp.root, size, root)
	}
}

func inclusion(v note.Verifier, path string) {
	var p inclusionProof
	readJSON(path, &p)
	if p.Proof != "inclusion" || p.Origin != v.Name() {
		die("%s: not an inclusion proof of %q", path, v.Name())
	}
	checkSigned(v, p.Checkpoint, p.TreeSize, p.RootHash, "inclusion")
	if p.Entry != nil && tlog.RecordHash([]byte(*p.Entry)) != p.LeafHash {
		die("inclusion: the entry does not hash to leaf_hash")
	}
	if err := tlog.CheckRecord(tlog.RecordProof(p.InclusionPath), p.TreeSize, p.RootHash,
		p.LeafIndex, p.LeafHash); err != nil {
		die("inclusion: tlog.CheckRecord: %v", err)
	}
	entry := "no entry"
	if p.Entry != nil {
		entry = "entry checked"
	}
	fmt.Printf("ok inclusion index %d size %d (%d hashes, %s)\n", p.LeafIndex, p.TreeSize,
		len(p.InclusionPath), entry)
}

func consistency(v note.Verifier, path string) {
	var p consistencyProof
	readJSON(path, &p)
	if p.Proof != "consistency" || p.Origin != v.Name() {
		die("%s: not a consistency proof of %q", path, v.Name())
	}
	checkSigned(v, p.Checkpoint1, p.TreeSize1, p.RootHash1, "consistency (old)")
	checkSigned(v, p.Checkpoint2, p.TreeSize2, p.RootHash2, "consistency (new)")
	if err := tlog.CheckTree(tlog.TreeProof(p.ConsistencyPath), p.TreeSize2, p.RootHash2,
		p.TreeSize1, p.RootHash1); err != nil {
		die("consistency: tlog.CheckTree: %v", err)
	}
	fmt.Printf("ok consistency %d -> %d (%d hashes)\n", p.TreeSize1, p.TreeSize2,
		len(p.ConsistencyPath))
}

// leaves recomputes the tree over the leaves store with tlog and compares
// its root with the newest checkpoint, and each entry line with its leaf.
func leaves(v note.Verifier, dir string) {
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		die("%v", err)
	}
	cp := openCheckpoint(v, msg)
	raw, err := os.ReadFile(filepath.Join(dir, "leaves"))
	if err != nil {
		die("%v", err)
	}
	if int64(len(raw)/tlog.HashSize) < cp.size {
		die("leaves: %d records, fewer than the checkpoint's %d", len(raw)/tlog.HashSize, cp.size)
	}
	stored := make([]tlog.Hash, 0, 2*cp.size)
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	leaf := func(i int64) tlog.Hash {
		var h tlog.Hash
		copy(h[:], raw[i*tlog.HashSize:])
		return h
	}
	for i := int64(0); i < cp.size; i++ {
		hs, err := tlog.StoredHashesForRecordHash(i, leaf(i), reader)
		if err != nil {
			die("leaves: %v", err)
		}
		stored = append(stored, hs...)
	}
	root, err := tlog.TreeHash(cp.size, reader)
	if err != nil {
		die("leaves: tlog.TreeHash: %v", err)
	}
	if root != cp.root {
		die("leaves: tlog.TreeHash(%d) = %v, the checkpoint says %v", cp.size, root, cp.root)
	}
	// every entry line present hashes to its leaf
	files, _ := filepath.Glob(filepath.Join(dir, "entries-*.jsonl"))
	sort.Strings(files)
	checked := 0
	for _, f := range files {
		first, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f),
			"entries-"), ".jsonl"), 10, 64)
		if err != nil {
			die("%s: bad name", f)
		}
		fh, err := os.Open(f)
		if err != nil {
			die("%v", err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for i := first; sc.Scan(); i++ {
			if i >= cp.size {
				break
			}
			if tlog.RecordHash(sc.Bytes()) != leaf(i) {
				die("%s: entry %d does not hash to its leaf", f, i)
			}
			checked++
		}
		fh.Close()
	}
	fmt.Printf("ok leaves size %d root %s, %d entries checked\n", cp.size,
		base64.StdEncoding.EncodeToString(root[:]), checked)
}

func main() {
	if len(os.Args) != 4 {
		die("usage: tlogcheck note|inclusion|consistency|leaves VKEY FILE")
	}
	v := verifier(os.Args[2])
	switch os.Args[1] {
	case "note":
		msg, err := os.ReadFile(os.Args[3])
		if err != nil {
			die("%v", err)
		}
		cp := openCheckpoint(v, msg)
		fmt.Printf("ok note %s size %d root %s\n", cp.origin, cp.size,
			base64.StdEncoding.EncodeToString(cp.root[:]))
	case "inclusion":
		inclusion(v, os.Args[3])
	case "consistency":
		consistency(v, os.Args[3])
	case "leaves":
		leaves(v, os.Args[3])
	default:
		die("unknown command %q", os.Args[1])
	}
}
