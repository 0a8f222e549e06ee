// Package calendar reads systemd's calendar event expressions (the
// OnCalendar= of systemd.time(7)) and says when one next elapses. It is
// pure: no clock is read; the caller passes the instant to search after.
//
// An expression is "[WEEKDAYS] [YEAR-]MONTH-DAY [HOUR:MINUTE[:SECOND]]
// [TIMEZONE]", each component a value, a list (1,15), a range (1..5,
// Mon..Fri), a repetition (0/15, 2026-*-01/2) or *, or one of the
// shorthands minutely, hourly, daily, weekly, monthly, yearly (annually),
// quarterly, semiannually. A day written after ~ counts from the end of
// its month (~01 is the last day, ~07/1 the last seven days). An omitted
// date is every day, an omitted time 00:00:00, omitted seconds :00.
//
// Times are wall-clock times in the expression's time zone (the
// location given to Parse unless it names one: UTC or an IANA name), as
// systemd evaluates them, with systemd's answers at the edges of
// daylight saving time: a wall time that does not exist on a day (the
// hour skipped when clocks go forward) does not elapse that day, and a
// wall time that happens twice (the hour repeated when clocks go back)
// elapses once, at its first occurrence. A day that a month lacks (the
// 31st of April, the 29th of February of a common year) never elapses.
package calendar
