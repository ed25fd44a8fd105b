// netlink::Table: a copy-on-write hash table for the mirror's snapshots.
//
// Items live in chunks of chunk_size, shared by pointer; the hash index is
// split into segments, also shared.  Copying a Table copies only pointers,
// and the first change after a copy clones one chunk and one segment, so a
// snapshot costs O(n / chunk_size) and a change after it O(chunk_size).
// Erasing moves the last item into the hole: order is not kept.
//
// Traits supply `static std::size_t hash(const T&)` and
// `static bool same_key(const T&, const T&)`.  Lookups take a hash and a
// predicate, so an item can also be found by part of its key (a state by
// its id, whatever its mark) when the hash covers only that part.
//
// Not thread-safe: the Mirror mutates one Table under its lock and hands out
// copies, which are immutable from then on.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

namespace netlink {

template <class T, class Traits> class Table {
public:
    static constexpr std::size_t chunk_size = 256;

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }

    template <class Pred> const T* find(std::size_t hash, Pred&& matches) const {
        if (size_ == 0)
            return nullptr;
        const Segment& seg = *segments_[segment_of(hash)];
        for (std::size_t i = seg.start(hash);; i = seg.next(i)) {
            std::uint32_t slot = seg.slots[i];
            if (slot == empty_slot)
                return nullptr;
            const T& item = at(slot);
            if (matches(item))
                return &item;
        }
    }

    const T* find(const T& key) const {
        return find(Traits::hash(key), [&](const T& t) { return Traits::same_key(t, key); });
    }

    // Inserts, or replaces the item with the same key.  Returns false when
    // an equal item was already there (nothing changed).
    bool upsert(T item) {
        std::size_t hash = Traits::hash(item);
        Segment& seg = mutable_segment(segment_of(hash));
        std::size_t i = seg.start(hash);
        for (;; i = seg.next(i)) {
            std::uint32_t slot = seg.slots[i];
            if (slot == empty_slot)
                break;
            if (Traits::same_key(at(slot), item)) {
                if (at(slot) == item)
                    return false;
                mutable_at(slot) = std::move(item);
                return true;
            }
        }
        std::uint32_t slot = static_cast<std::uint32_t>(size_);
        if (size_ % chunk_size == 0) {
            chunks_.push_back(std::make_shared<Chunk>());
            chunks_.back()->items.reserve(chunk_size);
        }
        mutable_chunk(size_ / chunk_size).items.push_back(std::move(item));
        ++size_;
        seg.slots[i] = slot;
        if (++seg.used * 4 > seg.slots.size() * 3)
            grow(seg);
        return true;
    }

    bool erase(const T& key) {
        std::size_t hash = Traits::hash(key);
        return erase_match(hash, [&](const T& t) { return Traits::same_key(t, key); });
    }

    // Erases every item `doomed` selects; returns how many.
    template <class Pred> std::size_t erase_if(Pred&& doomed) {
        Table kept;
        for (const T& item : *this)
            if (!doomed(item))
                kept.upsert(item);
        std::size_t gone = size_ - kept.size_;
        if (gone)
            *this = std::move(kept);
        return gone;
    }

    void clear() { *this = Table(); }

    class const_iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = T;
        using difference_type = std::ptrdiff_t;
        using pointer = const T*;
        using reference = const T&;

        const_iterator() = default;
        reference operator*() const { return table_->at(static_cast<std::uint32_t>(pos_)); }
        pointer operator->() const { return &**this; }
        const_iterator& operator++() {
            ++pos_;
            return *this;
        }
        const_iterator operator++(int) {
            auto old = *this;
            ++pos_;
            return old;
        }
        friend bool operator==(const const_iterator& a, const const_iterator& b) {
            return a.pos_ == b.pos_;
        }

    private:
        friend class Table;
        const_iterator(const Table* table, std::size_t pos) : table_(table), pos_(pos) {}
        const Table* table_ = nullptr;
        std::size_t pos_ = 0;
    };

    const_iterator begin() const { return const_iterator(this, 0); }
    const_iterator end() const { return const_iterator(this, size_); }

    // Heap bytes this table holds, counting shared parts fully.
    std::size_t footprint() const {
        std::size_t bytes =
            chunks_.capacity() * sizeof(chunks_[0]) + segments_.capacity() * sizeof(segments_[0]);
        for (const auto& c : chunks_)
            bytes += sizeof(Chunk) + c->items.capacity() * sizeof(T);
        for (const auto& s : segments_)
            bytes += sizeof(Segment) + s->slots.capacity() * sizeof(std::uint32_t);
        return bytes;
    }

    Table() : segments_(segment_count) {
        for (auto& s : segments_)
            s = std::make_shared<Segment>();
    }

private:
    static constexpr std::uint32_t empty_slot = ~std::uint32_t{0};
    // Enough segments that cloning one after a snapshot stays cheap at 10^5
    // items, few enough that an empty table is small.
    static constexpr std::size_t segment_count = 64;

    struct Chunk {
        std::vector<T> items;
    };

    // Open addressing with linear probing over slot numbers.
    struct Segment {
        std::vector<std::uint32_t> slots = std::vector<std::uint32_t>(8, empty_slot);
        std::size_t used = 0;

        std::size_t start(std::size_t hash) const { return (hash >> 6) & (slots.size() - 1); }
        std::size_t next(std::size_t i) const { return (i + 1) & (slots.size() - 1); }
    };

    static std::size_t segment_of(std::size_t hash) { return hash & (segment_count - 1); }

    const T& at(std::uint32_t slot) const {
        return chunks_[slot / chunk_size]->items[slot % chunk_size];
    }

    T& mutable_at(std::uint32_t slot) {
        return mutable_chunk(slot / chunk_size).items[slot % chunk_size];
    }

    Chunk& mutable_chunk(std::size_t n) {
        if (chunks_[n].use_count() > 1) {
            auto copy = std::make_shared<Chunk>();
            copy->items.reserve(chunk_size);
            copy->items = chunks_[n]->items;
            chunks_[n] = std::move(copy);
        }
        return *chunks_[n];
    }

    Segment& mutable_segment(std::size_t n) {
        if (segments_[n].use_count() > 1)
            segments_[n] = std::make_shared<Segment>(*segments_[n]);
        return *segments_[n];
    }

    void grow(Segment& seg) {
        std::vector<std::uint32_t> old = std::move(seg.slots);
        seg.slots.assign(old.size() * 2, empty_slot);
        for (std::uint32_t slot : old) {
            if (slot == empty_slot)
                continue;
            std::size_t i = seg.start(Traits::hash(at(slot)));
            while (seg.slots[i] != empty_slot)
                i = seg.next(i);
            seg.slots[i] = slot;
        }
    }

    // Index position of `slot` in its segment (the item must be present).
    std::size_t position_of(const Segment& seg, std::size_t hash, std::uint32_t slot) const {
        std::size_t i = seg.start(hash);
        while (seg.slots[i] != slot)
            i = seg.next(i);
        return i;
    }

    template <class Pred> bool erase_match(std::size_t hash, Pred&& matches) {
        const Segment& cseg = *segments_[segment_of(hash)];
        std::size_t i = cseg.start(hash);
        for (;; i = cseg.next(i)) {
            if (cseg.slots[i] == empty_slot)
                return false;
            if (matches(at(cseg.slots[i])))
                break;
        }
        Segment& seg = mutable_segment(segment_of(hash));
        std::uint32_t hole = seg.slots[i];
        remove_position(seg, i);

        // Fill the hole with the last item so that slots stay dense.
        std::uint32_t last = static_cast<std::uint32_t>(size_ - 1);
        if (hole != last) {
            std::size_t last_hash = Traits::hash(at(last));
            Segment& lseg = mutable_segment(segment_of(last_hash));
            lseg.slots[position_of(lseg, last_hash, last)] = hole;
            mutable_at(hole) = std::move(mutable_at(last));
        }
        Chunk& tail = mutable_chunk(last / chunk_size);
        tail.items.pop_back();
        if (tail.items.empty())
            chunks_.pop_back();
        --size_;
        return true;
    }

    // Backward-shift deletion keeps probe chains intact without tombstones.
    void remove_position(Segment& seg, std::size_t i) {
        --seg.used;
        std::size_t j = i;
        for (;;) {
            seg.slots[i] = empty_slot;
            for (;;) {
                j = seg.next(j);
                if (seg.slots[j] == empty_slot)
                    return;
                std::size_t home = seg.start(Traits::hash(at(seg.slots[j])));
                // Move j back to i unless its home lies cyclically in (i, j].
                bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
                if (!stays)
                    break;
            }
            seg.slots[i] = seg.slots[j];
            i = j;
        }
    }

    std::vector<std::shared_ptr<Chunk>> chunks_;
    std::vector<std::shared_ptr<Segment>> segments_;
    std::size_t size_ = 0;
};

} // namespace netlink
