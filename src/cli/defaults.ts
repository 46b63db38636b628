/** Defaults shared by CLI commands (kept tiny: `rotor --help` loads it). */
export const DEFAULT_LOCAL_STATE = '.rotor/local';
/** State folder of `rotor local --estate large` (apart from the demo's, so `npm start` keeps showing the demo). */
export const LARGE_LOCAL_STATE = '.rotor/large';
