// Package packaging holds what `make install` and `make deb` put around
// the binaries, and the tests that build and install them for real:
//
//	systemd/    shepherd.service for the system (Type=notify, Delegate=yes,
//	            KillMode=mixed) and for `systemctl --user`, with @BINDIR@
//	            and @DOCDIR@ filled in by make install
//	debian/     control.in, copyright, postinst, prerm, postrm of `make deb`
//	mkdeb/      the program that turns the staged tree into a .deb
//	services.yaml  the example /etc/shepherd/services.yaml (a conffile)
//
// docs/packaging.md says why each is what it is. The package has no code:
// its tests run make install and make deb into temporary directories,
// install the package with dpkg --root, and run what it installed.
package packaging
