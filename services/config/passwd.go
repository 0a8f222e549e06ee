package config

import (
	"bufio"
	"os"
	"strings"
)

// passwdField returns field i (0-based) of name's line in /etc/passwd.
func passwdField(name string, i int) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) > i && fields[0] == name {
			return fields[i]
		}
	}
	return ""
}
