import { describe, expect, it } from "vitest";
import { isReservedAddress } from "../../../provider/pki/ip-addresses";

describe("isReservedAddress (IANA special-purpose ranges)", () => {
  it.each([
    ["8.8.8.8", false],
    ["1.1.1.1", false],
    ["2606:4700::1111", false],
    ["[2606:4700::1111]", false],
    ["10.1.2.3", true],
    ["172.16.0.1", true],
    ["192.168.1.1", true],
    ["127.0.0.1", true],
    ["169.254.1.1", true],
    ["100.64.0.1", true],
    ["192.0.2.1", true],
    ["198.51.100.7", true],
    ["203.0.113.9", true],
    ["224.0.0.1", true],
    ["255.255.255.255", true],
    ["::1", true],
    ["fe80::1", true],
    ["fd00::1", true],
    ["2001:db8::1", true],
    ["ff02::1", true],
    ["api.example.com", false],
  ])("%s: %s", (address, expected) => {
    expect(isReservedAddress(address)).toBe(expected);
  });
});
