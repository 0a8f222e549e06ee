package fleet

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestPulledCopyIsNotWritableByOthers: the mode a host gives a pulled
// file is kept, except write for group and others (a hostile host would
// leave a world-writable copy on the operator's machine).
func TestPulledCopyIsNotWritableByOthers(t *testing.T) {
	dir := t.TempDir()
	for mode, want := range map[os.FileMode]os.FileMode{0o666: 0o644, 0o777: 0o755, 0o640: 0o640, 0o600: 0o600} {
		dest := filepath.Join(dir, mode.String())
		if err := writeLocal(dest, mode, "", func(w io.Writer) error { _, err := io.WriteString(w, "x"); return err }); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(dest)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != want {
			t.Errorf("host mode %v: copy is %v, want %v", mode, st.Mode().Perm(), want)
		}
	}
}
