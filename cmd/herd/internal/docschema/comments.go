package docschema

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// Comments are the doc comments of Go types and their fields, which
// become the schemas' descriptions.
type Comments struct {
	types  map[string]string            // "pkgpath.Type"
	fields map[string]map[string]string // "pkgpath.Type" -> field -> doc
}

// LoadComments reads the doc comments of the packages of module (whose
// import path is modPath, in directory root) that types come from.
func LoadComments(root, modPath string, types ...reflect.Type) (*Comments, error) {
	c := &Comments{types: map[string]string{}, fields: map[string]map[string]string{}}
	seen := map[string]bool{}
	var visit func(t reflect.Type) error
	visitedTypes := map[reflect.Type]bool{}
	visit = func(t reflect.Type) error {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if visitedTypes[t] {
			return nil
		}
		visitedTypes[t] = true
		if pkg := t.PkgPath(); pkg != "" && !seen[pkg] {
			seen[pkg] = true
			if rel, ok := strings.CutPrefix(pkg, modPath); ok {
				if err := c.parse(filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(rel, "/"))), pkg); err != nil {
					return err
				}
			}
		}
		if t.Kind() == reflect.Struct {
			for i := range t.NumField() {
				if err := visit(t.Field(i).Type); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, t := range types {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// parse reads the comments of the package in dir.
func (c *Comments) parse(dir, pkg string) error {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				key := pkg + "." + ts.Name.Name
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				c.types[key] = text(doc)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				fields := map[string]string{}
				for _, f := range st.Fields.List {
					d := text(f.Doc)
					if d == "" {
						d = text(f.Comment)
					}
					for _, n := range f.Names {
						fields[n.Name] = d
					}
				}
				c.fields[key] = fields
			}
		}
	}
	return nil
}

// text is a comment as one paragraph.
func text(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}

func (c *Comments) typeDoc(t reflect.Type) string {
	if c == nil {
		return ""
	}
	return c.types[t.PkgPath()+"."+t.Name()]
}

func (c *Comments) fieldDoc(t reflect.Type, field string) string {
	if c == nil {
		return ""
	}
	return c.fields[t.PkgPath()+"."+t.Name()][field]
}
