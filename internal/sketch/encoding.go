package sketch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/axiomhq/hyperloglog"
)

// The binary form, for checkpoints and for shipping partial counts between
// processes. All integers are little-endian.
//
//	0  2  magic "hc"
//	2  1  format version (1)
//	3  1  mode (0 exact, 1 hll, 2 auto)
//	4  1  precision p
//	5  1  state: 0 exact set, 1 HLL sketch
//	6  8  budget (uint64, > 0)
//	exact state:
//	14 1  1 if the hash 0 is in the set, else 0
//	15 8  n, the number of nonzero hashes that follow
//	23 8n the hashes, distinct and nonzero, in no particular order
//	HLL state:
//	14 …  github.com/axiomhq/hyperloglog's own encoding (its format version
//	      2 pins its sparse layout), to the end of the buffer
//
// The encoding describes the counter completely (mode, precision, budget), so
// UnmarshalBinary restores it whatever the receiver held before.
const (
	formatVersion = 1
	headerLen     = 14
	exactHeader   = headerLen + 1 + 8
	stateExact    = 0
	stateHLL      = 1
	// maxBudget bounds a decoded budget so that it fits an int.
	maxBudget = math.MaxInt
)

var magic = [2]byte{'h', 'c'}

// ErrInvalid is wrapped by every UnmarshalBinary error: the bytes are not a
// Counter this package wrote.
var ErrInvalid = errors.New("sketch: invalid encoding")

// MarshalBinary encodes the counter. The exact form costs 8 bytes per
// distinct hash; the HLL form at most about 2^p bytes.
func (c *Counter) MarshalBinary() ([]byte, error) {
	return c.AppendBinary(nil)
}

// AppendBinary appends the encoding of c to b (encoding.BinaryAppender).
func (c *Counter) AppendBinary(b []byte) ([]byte, error) {
	if c.p < MinPrecision || c.p > MaxPrecision {
		// Only a zero Counter (not built by New) gets here.
		return b, fmt.Errorf("sketch: cannot encode a counter with precision %d (use New)", c.p)
	}
	budget := c.budget
	if budget <= 0 {
		budget = DefaultBudget
	}
	b = append(b, magic[0], magic[1], formatVersion, byte(c.mode), c.p)
	if c.sk != nil {
		b = append(b, stateHLL)
		b = binary.LittleEndian.AppendUint64(b, uint64(budget))
		return c.sk.AppendBinary(b)
	}
	b = append(b, stateExact)
	b = binary.LittleEndian.AppendUint64(b, uint64(budget))
	zero := byte(0)
	if c.set.zero {
		zero = 1
	}
	b = append(b, zero)
	b = binary.LittleEndian.AppendUint64(b, uint64(c.set.n))
	if need := len(b) + 8*c.set.n; cap(b) < need {
		nb := make([]byte, len(b), need)
		copy(nb, b)
		b = nb
	}
	for _, v := range c.set.slots {
		if v != 0 {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
	}
	return b, nil
}

// UnmarshalBinary replaces c with the counter encoded in data. It rejects
// anything MarshalBinary could not have written (wrong magic, version, mode,
// precision, lengths, duplicate or zero hashes in the set, an invalid
// sketch) with an error wrapping ErrInvalid, and then leaves c unchanged. It
// allocates no more than a small multiple of len(data).
//
// An Auto counter whose set needs a table above its budget (only a
// hand-made encoding can say so) is converted, as Add would have done.
func (c *Counter) UnmarshalBinary(data []byte) error {
	if len(data) < headerLen {
		return fmt.Errorf("%w: %d bytes, header needs %d", ErrInvalid, len(data), headerLen)
	}
	if data[0] != magic[0] || data[1] != magic[1] {
		return fmt.Errorf("%w: bad magic %q", ErrInvalid, data[:2])
	}
	if data[2] != formatVersion {
		return fmt.Errorf("%w: format version %d, want %d", ErrInvalid, data[2], formatVersion)
	}
	mode, p, state := Mode(data[3]), data[4], data[5]
	if mode > Auto {
		return fmt.Errorf("%w: mode %d", ErrInvalid, data[3])
	}
	if p < MinPrecision || p > MaxPrecision {
		return fmt.Errorf("%w: precision %d out of range %d..%d", ErrInvalid, p, MinPrecision, MaxPrecision)
	}
	budget := binary.LittleEndian.Uint64(data[6:14])
	if budget == 0 || budget > maxBudget {
		return fmt.Errorf("%w: budget %d out of range 1..%d", ErrInvalid, budget, maxBudget)
	}
	n := Counter{mode: mode, p: p, budget: int(budget)}
	switch state {
	case stateHLL:
		sk := new(hyperloglog.Sketch)
		if err := sk.UnmarshalBinary(data[headerLen:]); err != nil {
			return fmt.Errorf("%w: sketch: %w", ErrInvalid, err)
		}
		// The library's first byte after its version is p; it has already
		// checked the range, we check that it agrees with our header.
		if data[headerLen+1] != p {
			return fmt.Errorf("%w: sketch precision %d, header says %d", ErrInvalid, data[headerLen+1], p)
		}
		n.sk = sk
	case stateExact:
		if mode == HLL {
			return fmt.Errorf("%w: an hll-mode counter holds an exact set", ErrInvalid)
		}
		if err := n.unmarshalSet(data[headerLen:]); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: state %d", ErrInvalid, state)
	}
	*c = n
	return nil
}

// unmarshalSet decodes the exact state into c.set (c is a fresh Counter).
func (c *Counter) unmarshalSet(data []byte) error {
	if len(data) < exactHeader-headerLen {
		return fmt.Errorf("%w: exact state needs %d bytes, have %d", ErrInvalid, exactHeader-headerLen, len(data))
	}
	zero := data[0]
	if zero > 1 {
		return fmt.Errorf("%w: zero flag %d", ErrInvalid, zero)
	}
	count := binary.LittleEndian.Uint64(data[1:9])
	body := data[9:]
	if count != uint64(len(body))/8 || len(body)%8 != 0 {
		return fmt.Errorf("%w: %d hashes declared, %d bytes follow", ErrInvalid, count, len(body))
	}
	// The table is sized from the bytes actually present, never from a
	// declared count alone.
	size := slotsFor(int(count))
	overBudget := c.mode == Auto && size*8 > c.budget
	if count > 0 {
		c.set.init(size)
	}
	for i := 0; i < len(body); i += 8 {
		v := binary.LittleEndian.Uint64(body[i:])
		if v == 0 {
			return fmt.Errorf("%w: hash 0 in the list (it has its own flag)", ErrInvalid)
		}
		if !c.set.insertNew(v) {
			return fmt.Errorf("%w: duplicate hash %#x", ErrInvalid, v)
		}
	}
	c.set.zero = zero == 1
	if overBudget {
		c.convert()
	}
	return nil
}
