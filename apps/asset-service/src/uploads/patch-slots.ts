/** The limits on PATCH requests streaming at once in one instance (config `UPLOAD_MAX_*PATCHES*`). */
export interface PatchSlotLimits {
  /** Per instance: bounds memory (each streaming PATCH holds two parts). */
  instance: number;
  /** Per workspace: one workspace never holds every slot of an instance. */
  workspace: number;
  /** Per device: one device never holds every slot of its workspace. */
  device: number;
}

/** Which limit refused a PATCH, with the variable that sets it. */
export type SlotRefusal =
  | { scope: 'instance'; limit: number; variable: 'UPLOAD_MAX_ACTIVE_PATCHES' }
  | { scope: 'workspace'; limit: number; variable: 'UPLOAD_MAX_PATCHES_PER_WORKSPACE' }
  | { scope: 'device'; limit: number; variable: 'UPLOAD_MAX_PATCHES_PER_DEVICE' };

/**
 * Streaming PATCH slots of one instance, counted per instance, per workspace and per device. A request takes a
 * slot of each or none, and gives them back once (`release` is idempotent). Checked device first, so a
 * refusal names the narrowest limit the client itself can act on.
 */
export class PatchSlots {
  private total = 0;
  private readonly workspaces = new Map<string, number>();
  private readonly devices = new Map<string, number>();

  constructor(private readonly limits: PatchSlotLimits) {}

  acquire(workspace: string, deviceId: string): { ok: true; release: () => void } | ({ ok: false } & SlotRefusal) {
    const deviceKey = `${workspace}\u0000${deviceId}`;
    const inDevice = this.devices.get(deviceKey) ?? 0;
    const inWorkspace = this.workspaces.get(workspace) ?? 0;
    if (inDevice >= this.limits.device) return { ok: false, scope: 'device', limit: this.limits.device, variable: 'UPLOAD_MAX_PATCHES_PER_DEVICE' };
    if (inWorkspace >= this.limits.workspace) return { ok: false, scope: 'workspace', limit: this.limits.workspace, variable: 'UPLOAD_MAX_PATCHES_PER_WORKSPACE' };
    if (this.total >= this.limits.instance) return { ok: false, scope: 'instance', limit: this.limits.instance, variable: 'UPLOAD_MAX_ACTIVE_PATCHES' };
    this.total += 1;
    this.workspaces.set(workspace, inWorkspace + 1);
    this.devices.set(deviceKey, inDevice + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total -= 1;
        decrement(this.workspaces, workspace);
        decrement(this.devices, deviceKey);
      },
    };
  }

  /** Slots in use: per instance, and for one workspace and device (tests, metrics). */
  inUse(workspace?: string, deviceId?: string): { total: number; workspace: number; device: number } {
    return {
      total: this.total,
      workspace: workspace === undefined ? 0 : (this.workspaces.get(workspace) ?? 0),
      device: workspace === undefined || deviceId === undefined ? 0 : (this.devices.get(`${workspace}\u0000${deviceId}`) ?? 0),
    };
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const next = (map.get(key) ?? 1) - 1;
  if (next <= 0) map.delete(key);
  else map.set(key, next);
}
