CREATE TABLE "audit_log" (
	"tenant_id" uuid NOT NULL,
	"audit_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"actor" text NOT NULL,
	"event" text NOT NULL,
	"target" text NOT NULL,
	"before" jsonb,
	"after" jsonb,
	CONSTRAINT "audit_log_tenant_id_audit_id_pk" PRIMARY KEY("tenant_id","audit_id")
);
--> statement-breakpoint
CREATE TABLE "rules" (
	"tenant_id" uuid NOT NULL,
	"rule_id" uuid NOT NULL,
	"action_code" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"is_active" boolean DEFAULT true NOT NULL,
	"priority" integer NOT NULL,
	"outcome" text NOT NULL,
	"verification_methods" text[],
	"condition" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "rules_tenant_id_rule_id_pk" PRIMARY KEY("tenant_id","rule_id")
);
--> statement-breakpoint
CREATE TABLE "value_lists" (
	"tenant_id" uuid NOT NULL,
	"alias" text NOT NULL,
	"name" text NOT NULL,
	"item_type" text NOT NULL,
	"items" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "value_lists_tenant_id_alias_pk" PRIMARY KEY("tenant_id","alias")
);
--> statement-breakpoint
ALTER TABLE "actions" ADD COLUMN "rule_context" jsonb;--> statement-breakpoint
ALTER TABLE "rules" ADD CONSTRAINT "rules_tenant_id_action_code_action_configurations_tenant_id_action_code_fk" FOREIGN KEY ("tenant_id","action_code") REFERENCES "public"."action_configurations"("tenant_id","action_code") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "value_lists" ADD CONSTRAINT "value_lists_tenant_id_tenants_tenant_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("tenant_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_log_at_idx" ON "audit_log" USING btree ("tenant_id","at" DESC NULLS LAST,"audit_id");--> statement-breakpoint
CREATE INDEX "rules_action_idx" ON "rules" USING btree ("tenant_id","action_code","priority");--> statement-breakpoint
CREATE INDEX "actions_tenant_created_idx" ON "actions" USING btree ("tenant_id","created_at" DESC NULLS LAST,"idempotency_key");--> statement-breakpoint
CREATE INDEX "actions_user_ip_idx" ON "actions" USING btree ("tenant_id","user_id","ip_address","created_at") WHERE ip_address IS NOT NULL;--> statement-breakpoint
CREATE INDEX "actions_user_device_idx" ON "actions" USING btree ("tenant_id","user_id","device_id") WHERE device_id IS NOT NULL;--> statement-breakpoint
-- The tenant-wide default outcome now covers REVIEW and BLOCK too; the old setting carries over.
UPDATE "tenants" SET "settings" = ("settings" - 'enrolledDefaultOutcome') || jsonb_build_object('defaultOutcome', "settings"->'enrolledDefaultOutcome')
 WHERE "settings" ? 'enrolledDefaultOutcome';
