/**
 * Version numbers are 1, 2, 3… per certificate and never reused, not even after a version or its
 * certificate is deleted. The certificate record keeps the highest number ever issued; the
 * version directories found on disk are a second witness, so a record restored from an old backup
 * can never make the store hand out a number that is already taken.
 */
export function nextVersionNumber(lastIssued: number, existingVersions: readonly number[]): number {
  let highest = Number.isInteger(lastIssued) && lastIssued > 0 ? lastIssued : 0;
  for (const version of existingVersions) {
    if (Number.isInteger(version) && version > highest) highest = version;
  }
  return highest + 1;
}
