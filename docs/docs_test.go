// Package docs checks the Markdown of the repository: every relative link
// leads to a file (and heading) that exists, and every table row has as
// many cells as its header, so that a table renders as a table.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// markdownFiles lists the repository's .md files, testdata and the
// imported test files aside (they are others' documents, kept as they are).
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found only %d Markdown files: %v", len(files), files)
	}
	return files
}

var (
	linkRe    = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)\)`)
	codeSpan  = regexp.MustCompile("`[^`]*`")
	headingRe = regexp.MustCompile(`(?m)^#{1,6}\s+(.+?)\s*$`)
)

// slug is GitHub's anchor for a heading: lower case, punctuation but
// hyphens and underscores dropped, spaces to hyphens.
func slug(h string) string {
	h = strings.ToLower(strings.ReplaceAll(h, "`", ""))
	var b strings.Builder
	for _, r := range h {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func anchors(text string) map[string]bool {
	out := map[string]bool{}
	for _, m := range headingRe.FindAllStringSubmatch(stripFences(text), -1) {
		s := slug(m[1])
		for i := 0; out[s]; i++ { // GitHub numbers repeated headings
			s = slug(m[1]) + "-" + string(rune('1'+i))
		}
		out[s] = true
	}
	return out
}

// stripFences blanks fenced code blocks, where # and | mean nothing.
func stripFences(text string) string {
	lines := strings.Split(text, "\n")
	in := false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			in = !in
			lines[i] = ""
			continue
		}
		if in {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

func TestLinksLeadSomewhere(t *testing.T) {
	for _, file := range markdownFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		text := stripFences(string(data))
		for n, line := range strings.Split(text, "\n") {
			for _, m := range linkRe.FindAllStringSubmatch(codeSpan.ReplaceAllString(line, ""), -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				path, anchor, _ := strings.Cut(target, "#")
				dest := file
				if path != "" {
					dest = filepath.Join(filepath.Dir(file), path)
					if _, err := os.Stat(dest); err != nil {
						t.Errorf("%s:%d: link to %s: no such file", file, n+1, target)
						continue
					}
				}
				if anchor == "" || !strings.HasSuffix(dest, ".md") {
					continue
				}
				destText, err := os.ReadFile(dest)
				if err != nil {
					t.Fatal(err)
				}
				if !anchors(string(destText))[anchor] {
					t.Errorf("%s:%d: link to %s: %s has no heading with anchor #%s", file, n+1, target, dest, anchor)
				}
			}
		}
	}
}

// cells counts a table row's cells. Only an escaped pipe does not
// separate cells: in GitHub's Markdown a pipe inside a code span does.
func cells(row string) int {
	row = strings.TrimSpace(strings.ReplaceAll(row, `\|`, ""))
	row = strings.TrimPrefix(strings.TrimSuffix(row, "|"), "|")
	return strings.Count(row, "|") + 1
}

func TestTablesHaveEvenRows(t *testing.T) {
	sep := regexp.MustCompile(`^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$`)
	for _, file := range markdownFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(stripFences(string(data)), "\n")
		for i := 1; i < len(lines); i++ {
			if !sep.MatchString(strings.TrimSpace(lines[i])) || !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "|") {
				continue
			}
			want := cells(lines[i-1])
			if got := cells(lines[i]); got != want {
				t.Errorf("%s:%d: the separator has %d cells, the header %d", file, i+1, got, want)
			}
			for j := i + 1; j < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[j]), "|"); j++ {
				if got := cells(lines[j]); got != want {
					t.Errorf("%s:%d: %d cells in a table of %d columns (a | inside a cell must be escaped: \\|)", file, j+1, got, want)
				}
			}
		}
	}
}
