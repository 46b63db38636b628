/** The written part of the report (findings, before/after figures); kept beside the code that produced them. */
export const REPORT_NOTES = `
## Notes

See bench/README.md for what each scenario measures and how.
`;
