package history

import (
	"fmt"
	"unicode/utf8"
)

// MaxEventText bounds each text of an event (message, result, who,
// action) and its command line as a whole: an event is one item of a
// listing, which goes to clients in frames of at most half a megabyte,
// and what is in it may come from a client or a service's definition.
const MaxEventText = 4096

// Bounded returns e with its texts cut to MaxEventText bytes, saying how
// much was cut.
func Bounded(e Event) Event {
	e.Message = cut(e.Message)
	e.Result = cut(e.Result)
	e.Who = cut(e.Who)
	e.Action = cut(e.Action)
	total := 0
	for i, arg := range e.Command {
		if total+len(arg) > MaxEventText {
			rest := len(e.Command) - i
			e.Command = append(e.Command[:i:i], fmt.Sprintf("[%d more arguments]", rest))
			break
		}
		total += len(arg)
	}
	return e
}

func cut(s string) string {
	if len(s) <= MaxEventText {
		return s
	}
	n := MaxEventText
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%s [%d more bytes]", s[:n], len(s)-n)
}
