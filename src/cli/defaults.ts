/** Defaults shared by CLI commands (kept tiny: `rotor --help` loads it). */
export const DEFAULT_LOCAL_STATE = '.rotor/local';
