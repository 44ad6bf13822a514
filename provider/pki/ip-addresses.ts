/**
 * IP addresses that no publicly trusted certificate may name (CA/B Forum BR §7.1.2.7.12: reserved
 * addresses and internal names): the IANA IPv4 and IPv6 special-purpose registries (RFC 6890 and
 * its updates), loopback, link-local, multicast, private and documentation ranges. Pure: a
 * `BlockList` built once.
 */
import { BlockList, isIP } from "node:net";

const RESERVED_V4 = [
  "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
  "192.31.196.0/24", "192.52.193.0/24", "192.88.99.0/24", "192.168.0.0/16", "192.175.48.0/24", "198.18.0.0/15", "198.51.100.0/24",
  "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
];
const RESERVED_V6 = [
  // IPv4-mapped addresses (::ffff:0:0/96) are left out: Node matches them against IPv4 addresses too.
  "::/127", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32", "2002::/16", "2620:4f:8000::/48",
  "3fff::/20", "fc00::/7", "fe80::/10", "ff00::/8",
  // Not yet allocated by IANA to any registry: nothing may be named there either.
  "400::/6", "800::/5", "1000::/4", "4000::/3", "6000::/3", "8000::/3", "a000::/3", "c000::/3", "e000::/4", "f000::/5", "f800::/6", "fe00::/9",
];

let reserved: BlockList | undefined;

function reservedRanges(): BlockList {
  if (!reserved) {
    reserved = new BlockList();
    for (const range of RESERVED_V4) reserved.addSubnet(range.split("/")[0], Number(range.split("/")[1]), "ipv4");
    for (const range of RESERVED_V6) reserved.addSubnet(range.split("/")[0], Number(range.split("/")[1]), "ipv6");
  }
  return reserved;
}

/** The address is reserved, private or otherwise not on the public internet. */
export function isReservedAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, "");
  const family = isIP(bare);
  if (family === 0) return false;
  return reservedRanges().check(bare, family === 4 ? "ipv4" : "ipv6");
}
