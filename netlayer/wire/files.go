package wire

// The file actions of herd fleet push and pull, presented with a file
// capability (target "files"); their arguments are strings:
//
//	file-stat  RIGHT PATH                         RIGHT: write or read
//	file-write PATH MODE SIZE SHA256 OFFSET DATA  MODE octal, DATA base64
//	file-read  PATH SIZE OFFSET LENGTH
//
// A push stats the file, and unless it already has the checksum sends it
// in order, one file-write per chunk of at most FileChunk bytes: the host
// writes a temporary file beside PATH and renames it over PATH once the
// last chunk is in and the checksum holds. A pull stats the file, then
// reads it chunk by chunk.

// FileChunk is the largest chunk of a file-write: with base64 its
// request stays under MaxFrame. FileReadChunk is the largest of a
// file-read: its reply stays under PartBudget.
const (
	FileChunk     = 512 << 10
	FileReadChunk = 256 << 10
)

// FileStat answers file-stat.
type FileStat struct {
	Exists bool   `json:"exists"`
	Size   int64  `json:"size"`
	Mode   uint32 `json:"mode"`
	SHA256 string `json:"sha256,omitempty"`
}

// FileWritten answers file-write: how much of the file the host has, and
// whether it is now in place.
type FileWritten struct {
	Received int64 `json:"received"`
	Done     bool  `json:"done,omitempty"`
}

// FileData answers file-read: the bytes at the offset asked for.
type FileData struct {
	Data []byte `json:"data"`
}

// PingResult answers fleet-ping: the round trip of a libp2p ping to the
// daemon that exported a capability.
type PingResult struct {
	Peer string   `json:"peer"`
	RTT  Duration `json:"rtt"`
}
