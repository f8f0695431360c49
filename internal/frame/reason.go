package frame

// Reason says why a frame was not counted. OK means it was. The set is small
// and fixed so that metrics, the end-of-run summary and dead letters share one
// vocabulary; reasons decided after parsing (bogus time, too late) are listed
// here too for that reason.
type Reason uint8

const (
	OK        Reason = iota
	Empty            // blank line
	NotJSON          // syntax error or truncated frame
	NotObject        // valid JSON, but not an object
	BadUTF8          // invalid UTF-8 anywhere in the frame
	TooDeep          // nested deeper than MaxDepth
	TooLarge         // longer than the reader's frame limit
	NoUID            // no top-level uid
	NoTS             // no top-level ts
	DupUID           // top-level uid more than once
	DupTS            // top-level ts more than once
	BadUID           // uid is not a string
	EmptyUID         // uid is ""
	BadTS            // ts is not an integer or a string of digits, or overflows int64
	BogusTS          // ts rejected by the watermark's plausibility rules
	TooLate          // window already closed and past --keep
	NumReasons
)

var reasonNames = [NumReasons]string{
	OK:        "ok",
	Empty:     "empty",
	NotJSON:   "not-json",
	NotObject: "not-object",
	BadUTF8:   "bad-utf8",
	TooDeep:   "too-deep",
	TooLarge:  "too-large",
	NoUID:     "no-uid",
	NoTS:      "no-ts",
	DupUID:    "dup-uid",
	DupTS:     "dup-ts",
	BadUID:    "bad-uid",
	EmptyUID:  "empty-uid",
	BadTS:     "bad-ts",
	BogusTS:   "bogus-ts",
	TooLate:   "too-late",
}

func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}
