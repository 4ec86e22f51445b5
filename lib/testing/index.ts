/** `mcp-oauth-proxy/testing`: helpers for testing stores and apps built on the proxy. */
export { runStoreContractTests, type StoreContractOptions } from './store-contract.js';
