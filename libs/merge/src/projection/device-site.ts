/** A device's site as the projection records it: the site of its latest event that named one. */
export interface DeviceSite {
  site: string | null;
  /** The deviceSeq of that event (null until an event named a site). */
  siteSeq: number | null;
}

/**
 * The site after a batch of a device's first-seen events: the one named by the event with the highest
 * deviceSeq among those that name a site, if it is later than the recorded one. "Latest" is the device's
 * own order, not commit order, so partitions committing in any order leave the same site; events without
 * a site never clear it.
 */
export function latestSite(current: DeviceSite, arrivals: readonly { seq: number; site: string }[]): DeviceSite {
  let next = current;
  for (const { seq, site } of arrivals) {
    if (next.siteSeq === null || seq > next.siteSeq || (seq === next.siteSeq && next.site !== null && site > next.site)) next = { site, siteSeq: seq };
  }
  return next;
}
