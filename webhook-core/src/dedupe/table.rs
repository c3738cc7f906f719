//! The memory behind a [`MemoryDedupe`](super::MemoryDedupe): a fixed array of zeroed slots, on
//! huge pages where the system offers them.
//!
//! Every claim lands on a random set of a table of megabytes, so with 4 KiB pages nearly every
//! claim also misses the TLB; under virtualization a miss walks two page tables. On Linux a table
//! of 2 MiB or more is an anonymous mapping advised for transparent huge pages (used when
//! `/sys/kernel/mm/transparent_hugepage/enabled` is `always` or `madvise`): in this repository's
//! measurements a claim and completion on the default table went from about 1.9 µs to 0.4 µs when
//! the rest of the process kept evicting the TLB, as a server's network stack does. Elsewhere,
//! and for small tables, a zeroed heap allocation. Either way untouched memory is not resident.

/// `[tag, word]`: `tag` is the key's hash with the low bit set (0 marks an empty slot); `word`
/// is the deadline (Unix seconds) shifted left once, with the low bit set once the key is done.
pub(super) type Slot = [u64; 2];

/// Zeroed slots, fixed in number.
pub(super) enum Table {
    Heap(Box<[Slot]>),
    #[cfg(target_os = "linux")]
    Mapped {
        map: memmap2::MmapMut,
        /// Where the 2 MiB-aligned slots start in `map`.
        offset: usize,
        /// The number of slots.
        len: usize,
    },
}

/// The huge page size of x86-64 and of arm64 with 4 KiB base pages.
#[cfg(target_os = "linux")]
const HUGE_PAGE: usize = 2 << 20;

impl Table {
    /// `len` empty slots.
    pub(super) fn zeroed(len: usize) -> Table {
        #[cfg(target_os = "linux")]
        if let Some(table) = Table::mapped(len) {
            return table;
        }
        Table::Heap(vec![[0; 2]; len].into_boxed_slice())
    }

    /// An anonymous mapping (zero pages until written) with room to start the slots on a huge
    /// page boundary: only whole, aligned 2 MiB ranges become huge pages.
    #[cfg(target_os = "linux")]
    fn mapped(len: usize) -> Option<Table> {
        let bytes = len.checked_mul(size_of::<Slot>())?;
        if bytes < HUGE_PAGE {
            return None;
        }
        let map = memmap2::MmapOptions::new()
            .len(bytes.checked_add(HUGE_PAGE)?)
            .map_anon()
            .ok()?;
        // A hint: with huge pages off, this is an ordinary zeroed mapping.
        let _ = map.advise(memmap2::Advice::HugePage);
        let offset = (map.as_ptr() as usize).wrapping_neg() % HUGE_PAGE;
        Some(Table::Mapped { map, offset, len })
    }

    pub(super) fn slots(&self) -> &[Slot] {
        match self {
            Table::Heap(slots) => slots,
            #[cfg(target_os = "linux")]
            Table::Mapped { map, offset, len } => {
                bytemuck::cast_slice(&map[*offset..*offset + *len * size_of::<Slot>()])
            }
        }
    }

    pub(super) fn slots_mut(&mut self) -> &mut [Slot] {
        match self {
            Table::Heap(slots) => slots,
            #[cfg(target_os = "linux")]
            Table::Mapped { map, offset, len } => {
                bytemuck::cast_slice_mut(&mut map[*offset..*offset + *len * size_of::<Slot>()])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_tables_are_zeroed_heap_slots() {
        let mut t = Table::zeroed(1000);
        assert!(matches!(t, Table::Heap(_)));
        assert_eq!(t.slots().len(), 1000);
        assert!(t.slots().iter().all(|s| *s == [0, 0]));
        t.slots_mut()[999] = [3, 4];
        assert_eq!(t.slots()[999], [3, 4]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn large_tables_start_on_a_huge_page_and_are_zeroed() {
        let len = 4 * HUGE_PAGE / size_of::<Slot>() + 8;
        let mut t = Table::zeroed(len);
        assert!(matches!(t, Table::Mapped { .. }));
        assert_eq!(t.slots().len(), len);
        assert_eq!(t.slots().as_ptr() as usize % HUGE_PAGE, 0);
        assert!(t.slots().iter().all(|s| *s == [0, 0]));
        t.slots_mut()[0] = [1, 2];
        t.slots_mut()[len - 1] = [5, 6];
        assert_eq!((t.slots()[0], t.slots()[len - 1]), ([1, 2], [5, 6]));
    }
}
