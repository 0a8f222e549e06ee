// Package supervisord translates supervisord.conf into services of our
// configuration, for `herd import supervisord`.
//
// It reads the file as supervisord's parser does (Python's
// RawConfigParser: [sections], "key = value", ';' and '#' comments
// inline after a blank, indented continuation lines), expands
// supervisord's %(name)s expressions (program_name, process_num,
// group_name, numprocs, here, host_node_name, ENV_X) and splits each
// command as supervisord does (shlex). Each [program:x] becomes a
// service: numprocs becomes instances, or one service per process when
// its options depend on %(process_num)d; autostart, autorestart,
// startsecs (min-uptime), user, environment, directory, umask,
// stopsignal, stopwaitsecs, stdout_logfile and its rotation carry over.
// [supervisord]'s environment, user and umask pass to every program, as
// its processes inherit them.
//
// Everything else is a warning at its line: the control interface
// sections, [include] (import each file), [group:x], event listeners,
// priorities that differ (shepherd orders only by requires), and the
// options shepherd has no equivalent for.
package supervisord
