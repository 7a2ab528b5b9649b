package vault

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
)

// bbolt trusts its own pages. A damaged page reference can send its cursors
// around a cycle forever; a damaged overflow count makes its consistency
// check loop billions of times; a damaged element can point anywhere in
// memory. So before bbolt walks an existing vault, checkPages walks the
// page tree itself, reading the file with ReadAt, bounded and cycle-free,
// and checks what bbolt assumes:
//
//   - the meta page bbolt chose is sound, and its free list is stored;
//   - every page reference lies between the meta pages and the high-water
//     mark, and names a branch or leaf page that carries its own ID;
//   - no page (or overflow page) is reached twice, so there are no cycles;
//   - elements, keys and values lie inside their page, inline buckets
//     inside their value;
//   - the free list names only pages the tree does not use, once each.
//
// The layout is bbolt's (go.etcd.io/bbolt/internal/common: page.go, meta.go,
// bucket.go), in the native byte order bbolt writes.

const (
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	elementSize      = 16 // branch: pos, ksize u32, pgid u64; leaf: flags, pos, ksize, vsize u32
	bucketHeaderSize = 16 // root pgid u64, sequence u64

	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01

	boltMagic    = 0xED0CDAED
	boltVersion  = 2
	boltMetaSum  = 56             // offset of the meta checksum, FNV-64a of the bytes before it
	noFreelist   = math.MaxUint64 // meta.freelist when the free list is not stored
	maxTreeDepth = 64             // far beyond any real vault
)

func u16(b []byte) uint16 { return binary.NativeEndian.Uint16(b) }
func u32(b []byte) uint32 { return binary.NativeEndian.Uint32(b) }
func u64(b []byte) uint64 { return binary.NativeEndian.Uint64(b) }

// boltMeta is the part of a bbolt meta page the check needs.
type boltMeta struct {
	valid          bool
	root, freelist uint64
	pgid, txid     uint64
}

func readMeta(f *os.File, off int64) (boltMeta, error) {
	// magic u32, version u32, page size u32, flags u32, root bucket
	// (root pgid u64, sequence u64), free list pgid u64, high-water mark
	// u64, txid u64, checksum u64.
	b := make([]byte, pageHeaderSize+boltMetaSum+8)
	if _, err := f.ReadAt(b, off); err != nil {
		return boltMeta{}, err
	}
	m := b[pageHeaderSize:]
	h := fnv.New64a()
	h.Write(m[:boltMetaSum])
	return boltMeta{
		valid:    u32(m) == boltMagic && u32(m[4:]) == boltVersion && u64(m[boltMetaSum:]) == h.Sum64(),
		root:     u64(m[16:]),
		freelist: u64(m[32:]),
		pgid:     u64(m[40:]),
		txid:     u64(m[48:]),
	}, nil
}

// pageChecker walks one bbolt file.
type pageChecker struct {
	f        *os.File
	pageSize uint64
	hwm      uint64          // high-water mark: pages at or above are unused
	used     map[uint64]bool // pages reached from the root, meta pages included
}

// checkPages checks the bbolt file f, whose page size is pageSize and whose
// current transaction (as bbolt sees it) is txid with hwm pages.
func checkPages(f *os.File, pageSize int, txid, hwm uint64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if pageSize < 1024 || hwm < 2 || uint64(fi.Size())/uint64(pageSize) < hwm {
		return fmt.Errorf("file is %d bytes, its %d pages need %d", fi.Size(), hwm, hwm*uint64(pageSize))
	}
	// Choose the meta page as bbolt does (the newer, if valid), and check
	// that it is the one bbolt chose.
	m0, err := readMeta(f, 0)
	if err != nil {
		return err
	}
	m1, err := readMeta(f, int64(pageSize))
	if err != nil {
		return err
	}
	m, other := m0, m1
	if m1.txid > m0.txid {
		m, other = m1, m0
	}
	if !m.valid {
		m = other
	}
	if !m.valid || m.txid != txid || m.pgid != hwm {
		return errors.New("meta pages disagree with the open database")
	}
	if m.freelist == noFreelist {
		return errors.New("free list not stored")
	}

	c := &pageChecker{f: f, pageSize: uint64(pageSize), hwm: hwm, used: map[uint64]bool{0: true, 1: true}}
	if err := c.tree(m.root, 0); err != nil {
		return err
	}
	return c.freelist(m.freelist)
}

// page reads page id and its overflow pages, marking them used.
func (c *pageChecker) page(id uint64) ([]byte, error) {
	if id < 2 || id >= c.hwm {
		return nil, fmt.Errorf("reference to page %d, outside [2, %d)", id, c.hwm)
	}
	head := make([]byte, pageHeaderSize)
	if _, err := c.f.ReadAt(head, int64(id*c.pageSize)); err != nil {
		return nil, err
	}
	if got := u64(head); got != id {
		return nil, fmt.Errorf("page %d carries ID %d", id, got)
	}
	overflow := uint64(u32(head[12:]))
	if id+overflow >= c.hwm {
		return nil, fmt.Errorf("page %d overflows past page %d", id, c.hwm)
	}
	for p := id; p <= id+overflow; p++ {
		if c.used[p] {
			return nil, fmt.Errorf("page %d is reached twice", p)
		}
		c.used[p] = true
	}
	data := make([]byte, (overflow+1)*c.pageSize)
	if _, err := c.f.ReadAt(data, int64(id*c.pageSize)); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return data, nil
}

// tree checks the B+tree rooted at page id.
func (c *pageChecker) tree(id uint64, depth int) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("page tree deeper than %d", maxTreeDepth)
	}
	data, err := c.page(id)
	if err != nil {
		return err
	}
	flags, count := u16(data[8:]), int(u16(data[10:]))
	switch flags {
	case leafPageFlag:
		return c.leaf(data, count, depth, false)
	case branchPageFlag:
		if count == 0 || pageHeaderSize+count*elementSize > len(data) {
			return fmt.Errorf("branch page %d has a bad element count %d", id, count)
		}
		for i := range count {
			e := data[pageHeaderSize+i*elementSize:]
			if err := within(data, pageHeaderSize+i*elementSize, u32(e), u32(e[4:]), 0); err != nil {
				return fmt.Errorf("branch page %d: %w", id, err)
			}
			if err := c.tree(u64(e[8:]), depth+1); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("page %d in the tree has type %#x", id, flags)
	}
}

// leaf checks a leaf page, or an inline bucket's page, and the buckets it
// holds.
func (c *pageChecker) leaf(data []byte, count, depth int, inline bool) error {
	if pageHeaderSize+count*elementSize > len(data) {
		return fmt.Errorf("leaf page has a bad element count %d", count)
	}
	for i := range count {
		off := pageHeaderSize + i*elementSize
		e := data[off:]
		flags, pos, ksize, vsize := u32(e), u32(e[4:]), u32(e[8:]), u32(e[12:])
		if err := within(data, off, pos, ksize, vsize); err != nil {
			return err
		}
		if flags&bucketLeafFlag == 0 {
			continue
		}
		if inline {
			return errors.New("bucket inside an inline bucket")
		}
		start := off + int(pos) + int(ksize)
		value := data[start : start+int(vsize)]
		if len(value) < bucketHeaderSize {
			return errors.New("bucket header too short")
		}
		if root := u64(value); root != 0 {
			if err := c.tree(root, depth+1); err != nil {
				return err
			}
			continue
		}
		page := value[bucketHeaderSize:]
		if len(page) < pageHeaderSize || u16(page[8:]) != leafPageFlag {
			return errors.New("malformed inline bucket")
		}
		if err := c.leaf(page, int(u16(page[10:])), depth+1, true); err != nil {
			return err
		}
	}
	return nil
}

// within checks that a key (and value) of the element at off lies in data.
func within(data []byte, off int, pos, ksize, vsize uint32) error {
	end := uint64(off) + uint64(pos) + uint64(ksize) + uint64(vsize)
	if end > uint64(len(data)) {
		return fmt.Errorf("element at %d reaches byte %d of a %d-byte page", off, end, len(data))
	}
	return nil
}

// freelist checks the free list page id against the pages in use.
func (c *pageChecker) freelist(id uint64) error {
	data, err := c.page(id)
	if err != nil {
		return fmt.Errorf("free list: %w", err)
	}
	if u16(data[8:]) != freelistPageFlag {
		return fmt.Errorf("free list page %d has type %#x", id, u16(data[8:]))
	}
	n, start := uint64(u16(data[10:])), uint64(pageHeaderSize)
	if n == math.MaxUint16 {
		n, start = u64(data[pageHeaderSize:]), pageHeaderSize+8
	}
	if n > (uint64(len(data))-start)/8 {
		return fmt.Errorf("free list of %d pages does not fit its page", n)
	}
	free := make(map[uint64]bool, n)
	for i := range n {
		p := u64(data[start+8*i:])
		switch {
		case p < 2 || p >= c.hwm:
			return fmt.Errorf("free list names page %d, outside [2, %d)", p, c.hwm)
		case free[p]:
			return fmt.Errorf("free list names page %d twice", p)
		case c.used[p]:
			return fmt.Errorf("page %d is both in use and free", p)
		}
		free[p] = true
	}
	return nil
}
