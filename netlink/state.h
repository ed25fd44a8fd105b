// XFRM states (SAs): from kernel messages to XfrmState, and the requests
// that name one state.  Pure code over message bytes; no socket here.
#pragma once

#include "netlink/message.h"
#include "netlink/xfrm_types.h"

#include <cstddef>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <memory>
#include <optional>
#include <unordered_map>

namespace netlink {

// Hands out one shared StateDetails per distinct value, so that states that
// differ only in id and counters share their bulky part.
class DetailsInterner {
public:
    std::shared_ptr<const StateDetails> intern(StateDetails&& details);
    // Forgets values no state uses any more.
    void prune();
    std::size_t size() const { return pool_.size(); }

private:
    std::unordered_multimap<std::size_t, std::shared_ptr<const StateDetails>> pool_;
};

std::size_t hash_value(const StateDetails& details);

Address address_from(const xfrm_address_t& address);
xfrm_address_t address_to(const Address& address);
Selector selector_from(const xfrm_selector& selector);
xfrm_selector selector_to(const Selector& selector);
LifetimeConfig lifetime_from(const xfrm_lifetime_cfg& config);
xfrm_lifetime_cfg lifetime_to(const LifetimeConfig& config);
LifetimeCurrent current_from(const xfrm_lifetime_cur& current);

// A state from its xfrm_usersa_info and the message's attributes (which
// may lack the algorithms, as in EXPIRE).  Keys in the attributes are not
// copied.
XfrmState state_from(const xfrm_usersa_info& info, const Attributes& attributes,
                     DetailsInterner& interner);

// A NEWSA/UPDSA message (dump record, GETSA reply or event).
std::optional<XfrmState> parse_state_message(const nlmsghdr* nlh, DetailsInterner& interner);

// Requests.  (A dump request has no fixed header: the kernel rejects one.)
void build_get_state(Request& request, const StateId& id, const Mark& mark,
                     const std::optional<Address>& saddr);
// GETAE: asks for the replay/lifetime record only (no keys in the answer).
void build_get_state_events(Request& request, const StateId& id, const Mark& mark);

} // namespace netlink
