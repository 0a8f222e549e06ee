package systemd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ReadUnits reads the unit files at paths, each with its drop-ins
// (PATH.d/*.conf, in lexical order). A path to redis-server@main.service
// that does not exist, beside redis-server@.service, reads the template
// with the instance main, as systemd would.
func ReadUnits(paths []string) ([]Unit, error) {
	var out []Unit
	for _, p := range paths {
		name := filepath.Base(p)
		file := p
		if _, err := os.Stat(p); os.IsNotExist(err) {
			if n, ok := parseUnitName(name); ok && n.Template && n.Instance != "" {
				tmpl := filepath.Join(filepath.Dir(p), n.Prefix+"@."+n.Type)
				if _, err := os.Stat(tmpl); err == nil {
					file = tmpl
				}
			}
		}
		data, err := readFile(file)
		if err != nil {
			return nil, err
		}
		u := Unit{Name: name, File: File{Path: file, Data: data}}
		dropins, _ := filepath.Glob(filepath.Join(file+".d", "*.conf"))
		if file != p {
			more, _ := filepath.Glob(filepath.Join(p+".d", "*.conf"))
			dropins = append(dropins, more...)
		}
		slices.SortStableFunc(dropins, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
		for _, d := range dropins {
			data, err := readFile(d)
			if err != nil {
				return nil, err
			}
			u.DropIns = append(u.DropIns, File{Path: d, Data: data})
		}
		out = append(out, u)
	}
	return out, nil
}

// readFile reads at most MaxFileSize+1 bytes of a regular file.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return io.ReadAll(io.LimitReader(f, MaxFileSize+1))
}
