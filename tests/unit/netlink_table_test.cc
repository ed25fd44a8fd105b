// The mirror's copy-on-write table: behaves like a map, and copies share
// storage until one side changes.
#include "netlink/snapshot.h"
#include "netlink/table.h"

#include <gtest/gtest.h>
#include <map>
#include <random>

namespace {

struct Item {
    std::uint32_t key = 0;
    std::uint32_t value = 0;
    friend bool operator==(const Item&, const Item&) = default;
};

struct ItemTraits {
    // A deliberately poor hash: long probe chains exercise the deletion.
    static std::size_t hash(const Item& i) { return (i.key % 97) * 0x10001; }
    static bool same_key(const Item& a, const Item& b) { return a.key == b.key; }
};

using ItemTable = netlink::Table<Item, ItemTraits>;

const Item* find(const ItemTable& t, std::uint32_t key) {
    return t.find(Item{key, 0});
}

TEST(NetlinkTable, BehavesLikeAMapUnderRandomChanges) {
    ItemTable table;
    std::map<std::uint32_t, std::uint32_t> model;
    std::mt19937 random(42);
    for (int step = 0; step < 40000; ++step) {
        std::uint32_t key = random() % 3000;
        if (random() % 3 == 0) {
            EXPECT_EQ(table.erase(Item{key, 0}), model.erase(key) == 1);
        } else {
            std::uint32_t value = random() % 4;
            bool changes = !model.count(key) || model[key] != value;
            EXPECT_EQ(table.upsert(Item{key, value}), changes);
            model[key] = value;
        }
    }
    ASSERT_EQ(table.size(), model.size());
    for (const auto& [key, value] : model) {
        const Item* item = find(table, key);
        ASSERT_TRUE(item) << key;
        EXPECT_EQ(item->value, value);
    }
    std::size_t seen = 0;
    for (const Item& item : table) {
        EXPECT_EQ(model.at(item.key), item.value);
        ++seen;
    }
    EXPECT_EQ(seen, model.size());
}

TEST(NetlinkTable, ACopyIsUnaffectedByLaterChanges) {
    ItemTable table;
    for (std::uint32_t k = 0; k < 1000; ++k)
        table.upsert({k, 1});
    ItemTable copy = table;
    table.upsert({5, 2});
    table.erase({7, 0});
    table.upsert({5000, 1});
    EXPECT_EQ(find(copy, 5)->value, 1u);
    EXPECT_TRUE(find(copy, 7));
    EXPECT_FALSE(find(copy, 5000));
    EXPECT_EQ(copy.size(), 1000u);
    EXPECT_EQ(find(table, 5)->value, 2u);
    EXPECT_FALSE(find(table, 7));
    EXPECT_EQ(table.size(), 1000u);
}

TEST(NetlinkTable, EraseIfKeepsTheRest) {
    ItemTable table;
    for (std::uint32_t k = 0; k < 600; ++k)
        table.upsert({k, k % 3});
    EXPECT_EQ(table.erase_if([](const Item& i) { return i.value == 0; }), 200u);
    EXPECT_EQ(table.size(), 400u);
    EXPECT_FALSE(find(table, 3));
    EXPECT_TRUE(find(table, 4));
}

TEST(NetlinkSnapshot, FindsStatesByIdWithOrWithoutMark) {
    netlink::StateTable states;
    netlink::XfrmState a;
    a.id = {netlink::parse_address("192.0.2.2"), 0x100, 50, 2};
    netlink::XfrmState b = a;
    b.mark = {7, 0xff};
    states.upsert(a);
    states.upsert(b);
    EXPECT_EQ(states.size(), 2u); // same id, other mark: another state
    netlink::Snapshot snap(3, states, {});
    EXPECT_EQ(snap.generation(), 3u);
    ASSERT_TRUE(snap.find(a.id, {7, 0xff}));
    EXPECT_EQ(snap.find(a.id, {7, 0xff})->mark.value, 7u);
    ASSERT_TRUE(snap.find(a.id, {}));
    EXPECT_EQ(snap.find(a.id, {})->mark.value, 0u);
    EXPECT_TRUE(snap.find(a.id));
    netlink::StateId other = a.id;
    other.spi = 0x101;
    EXPECT_FALSE(snap.find(other));
}

TEST(NetlinkSnapshot, LarvalStatesWithSpiZeroAreTellApartBySourceAndReqid) {
    netlink::StateTable states;
    netlink::XfrmState a;
    a.id = {netlink::parse_address("192.0.2.2"), 0, 50, 2};
    a.saddr = netlink::parse_address("192.0.2.1");
    a.reqid = 1;
    netlink::XfrmState b = a;
    b.reqid = 2;
    states.upsert(a);
    states.upsert(b);
    EXPECT_EQ(states.size(), 2u);
}

} // namespace
