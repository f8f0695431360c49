// Package lookup holds the nibble tables of the frame parser's vector stage
// 1, in one place for its two writers: the avo generator of the shipped
// assembly (internal/frame/_asm) and the simd/archsimd port
// (internal/frame/stage1_archsimd*_amd64.go, GOEXPERIMENT=simd). A byte is
// classified by looking up its low and its high nibble in two 16-byte
// tables (PSHUFB) and ANDing the results.
package lookup

// Escape classes of a byte: the byte is in a class when a bit of the class
// is set in both EscLo[low nibble] and EscHi[high nibble]. U is bit 7 so
// that a sign test (VPMOVB2M, VPMOVMSKB) reads it directly.
const (
	ClsQuoteSlash = 0x01 // " /
	ClsBackslash  = 0x02 // \
	ClsBFN        = 0x04 // b f n
	ClsRT         = 0x08 // r t
	ClsDigit      = 0x20 // 0-9
	ClsHexLetter  = 0x40 // a-f A-F
	ClsU          = 0x80 // u

	ClsEscape = ClsQuoteSlash | ClsBackslash | ClsBFN | ClsRT | ClsU // may follow a backslash
	ClsHex    = ClsDigit | ClsHexLetter
)

// UTF-8 error classes of simdjson's lookup algorithm (utf8_lookup4).
const (
	TooShort     = 1 << 0
	TooLong      = 1 << 1
	Overlong3    = 1 << 2
	TooLarge     = 1 << 3
	Surrogate    = 1 << 4
	Overlong2    = 1 << 5
	TooLarge1000 = 1 << 6
	Overlong4    = 1 << 6
	TwoConts     = 1 << 7
	Carry        = TooShort | TooLong | TwoConts
)

var (
	EscLo = [16]byte{
		0x0: ClsDigit,
		0x1: ClsDigit | ClsHexLetter,
		0x2: ClsQuoteSlash | ClsBFN | ClsRT | ClsDigit | ClsHexLetter,
		0x3: ClsDigit | ClsHexLetter,
		0x4: ClsRT | ClsDigit | ClsHexLetter,
		0x5: ClsU | ClsDigit | ClsHexLetter,
		0x6: ClsBFN | ClsDigit | ClsHexLetter,
		0x7: ClsDigit, 0x8: ClsDigit, 0x9: ClsDigit,
		0xC: ClsBackslash,
		0xE: ClsBFN,
		0xF: ClsQuoteSlash,
	}
	EscHi = [16]byte{
		0x2: ClsQuoteSlash,
		0x3: ClsDigit,
		0x4: ClsHexLetter,
		0x5: ClsBackslash,
		0x6: ClsBFN | ClsHexLetter,
		0x7: ClsRT | ClsU,
	}
	// Byte1High, Byte1Low and Byte2High are the UTF-8 check's tables: by
	// the previous byte's high and low nibbles and this byte's high one.
	Byte1High = [16]byte{
		TooLong, TooLong, TooLong, TooLong, TooLong, TooLong, TooLong, TooLong,
		TwoConts, TwoConts, TwoConts, TwoConts,
		TooShort | Overlong2,
		TooShort,
		TooShort | Overlong3 | Surrogate,
		TooShort | TooLarge | TooLarge1000 | Overlong4,
	}
	Byte1Low = [16]byte{
		Carry | Overlong3 | Overlong2 | Overlong4,
		Carry | Overlong2,
		Carry, Carry,
		Carry | TooLarge,
		Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000,
		Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000,
		Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000,
		Carry | TooLarge | TooLarge1000 | Surrogate,
		Carry | TooLarge | TooLarge1000, Carry | TooLarge | TooLarge1000,
	}
	Byte2High = [16]byte{
		TooShort, TooShort, TooShort, TooShort, TooShort, TooShort, TooShort, TooShort,
		TooLong | Overlong2 | TwoConts | Overlong3 | TooLarge1000 | Overlong4,
		TooLong | Overlong2 | TwoConts | Overlong3 | TooLarge,
		TooLong | Overlong2 | TwoConts | Surrogate | TooLarge,
		TooLong | Overlong2 | TwoConts | Surrogate | TooLarge,
		TooShort, TooShort, TooShort, TooShort,
	}
	// A byte is whitespace when WsTable at its low nibble is the byte; an
	// operator when OpTable there is the byte with bit 5 set ([ ] become
	// { }). Both from simdjson; two control characters (0x0C, 0x1A) come
	// out as operators, which the walk rejects as it reads the byte.
	WsTable = [16]byte{' ', 100, 100, 100, 17, 100, 113, 2, 100, '\t', '\n', 112, 100, '\r', 100, 100}
	OpTable = [16]byte{10: ':', 11: '{', 12: ',', 13: '}'}
)
