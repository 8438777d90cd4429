export { provisionDynsec } from './dynsec-provision';
export { dynsecPlan, dynsecProvisioningSchema, type DynsecProvisioning, type ResolvedDynsecProvisioning } from './dynsec-plan';
