// ipsec spigrp's argument processing and messages, as pure functions.
//
// KLIPS's program order, texts and exit statuses (klips-text.md 5, Openswan
// 2.6 up to 2.6.24 where versions differ), with klipsfs's changes: no NETKEY
// check, more than four SAs with --said is an error, one control-node line
// instead of N-1 PF_KEY messages.  The I/O (name lookups, the control node,
// the listing) is in spigrp.cc; name lookups come in as a function, so the
// whole decision can be tested without a resolver.
#pragma once

#include "compat/said.h"

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tools {

// Looks a host name up for `family` (AF_INET or AF_INET6); nothing if it
// does not resolve.
using NameLookup = std::function<std::optional<compat::Address>(const std::string&, int)>;

// Openswan's ttoaddr: numeric text through compat::parse_address, names
// (text that does not look numeric) through `lookup`.  family 0 guesses,
// trying IPv6 names first as ttoaddr did.  Throws compat::Error with
// ttoaddr's message.
compat::Address ttoaddr(const std::string& text, int family, const NameLookup& lookup);

// Openswan's ttosa, whose address may be a host name.
compat::Said ttosa(const std::string& text, const NameLookup& lookup);

enum class SpigrpAction {
    exit, // print, then exit with `status`
    list, // print, then copy the mount's ipsec_spigrp to stdout
    send, // print, then write the control line for `sas`
};

struct SpigrpPlan {
    SpigrpAction action = SpigrpAction::exit;
    int status = 0;
    std::string out; // for stdout: usage, --debug trace
    std::string err; // for stderr
    std::string progname;
    bool debug = false;
    std::vector<compat::Said> sas; // one: ungroup; two to four: group
};

// Decides what `ipsec spigrp` does with `argv` (argv[0] included).
SpigrpPlan plan_spigrp(std::span<const std::string> argv, const NameLookup& lookup);

std::string usage_text(const std::string& progname);

// The control-node line for the SAs of a send plan, '\n' included.
std::string control_line(std::span<const compat::Said> sas);

// The files spigrp uses under the klipsfs mount point `mount`.
std::string control_node(const std::string& mount); // <mount>/ipsec/control
std::string listing_file(const std::string& mount); // <mount>/ipsec_spigrp

// The messages of the I/O steps, for stderr.  A stale mount (ENOTCONN: the
// daemon died and left its mount) gets the same sentence at the listing and
// at the control node: it names the mount and how to clear it.
std::string listing_missing_text(const std::string& progname, const std::string& mount);
// Opening or reading the listing failed with `error`.
std::string listing_failure_text(const std::string& progname, const std::string& mount, int error);
// Opening the control node under `mount` failed with `error`.
std::string open_failure_text(const std::string& progname, const std::string& mount, int error,
                              bool root);
// `reply` is what klipsfs answered on the control node (may be empty).
std::string write_failure_text(const std::string& progname, long returned, int error,
                               const std::string& reply, bool root);

} // namespace tools
