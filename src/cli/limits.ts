/** Constants shared by the command table and the command modules (kept apart so neither imports the other). */

/** `hashgate config <action>`: the actions there are. */
export const CONFIG_ACTIONS = ['check'] as const;
/** The group the systemd unit runs hashgate as (docs/systemd/hashgate.service). */
export const SERVICE_GROUP = 'hashgate';
/** `hashgate demo --duration` bounds, in seconds. */
export const MIN_DURATION_S = 5;
export const MAX_DURATION_S = 3600;
