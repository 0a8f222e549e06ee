package lifecycle

import "github.com/shepherd-go/shepherd/services"

// Success statuses (`exit-codes`, systemd's SuccessExitStatus=): which
// exits of the main process went well. Exit code 0 always does; the
// policy's ExitCodes add codes (143: a JVM or a shell's TERM trap ending
// on the stop signal) and signals. They decide
//
//   - whether a one-shot succeeded (it is done) or failed;
//   - whether a process started on connection that exits leaves its
//     service listening (a success) or crashed;
//   - with `respawn: on-failure`, whether an exit the daemon did not ask
//     for is respawned (a failure) or leaves the service stopped, as
//     systemd's Restart=on-failure and supervisord's
//     autorestart=unexpected; `respawn: true` respawns after any exit it
//     did not ask for, a success included, as GNU Shepherd does (and
//     systemd's Restart=always);
//   - what the exit record and the status say: an exit during a stop
//     with one of them is a clean stop, noted as such.
//
// A stop ends with the service stopped whatever the status (shepherd
// asked for the exit); the status only says whether it was clean.

// successNote is the exit record's note for a status that is a success
// only because exit-codes lists it.
const successNote = "a success status (exit-codes)"

// succeeded reports whether st is a success status of the service: exit
// code 0, or one listed in its exit-codes. An unknown status (a process
// another parent reaped) is not.
func succeeded(p services.Policy, st ExitStatus) bool {
	return !st.Unknown && p.ExitCodes.Success(st.Code, st.Signal)
}

// respawnsAfter reports whether an exit with st that the daemon did not
// ask for is followed by a respawn (the enabled flag aside).
func respawnsAfter(p services.Policy, st ExitStatus) bool {
	return p.Respawn && !(p.RespawnOnFailure && succeeded(p, st))
}

// noteSuccess adds to an exit record that its status is a success by
// the service's exit-codes (exit code 0 needs no note).
func (m *Machine) noteSuccess(r *Record, st ExitStatus) {
	if st.Success() || !succeeded(m.policy, st) {
		return
	}
	if r.Message != "" {
		r.Message += "; " + successNote
		return
	}
	r.Message = successNote
}
