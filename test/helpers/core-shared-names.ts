// The names the shared-core Worker test serves, and the address each one's answer carries.
export const sharedName = (i: number) => `n-${i}.test`;
export const sharedAddress = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
