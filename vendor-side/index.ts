/** `postern/vendor-side`: what a vendor's own code imports. */
export * from './sdk/index.ts';
