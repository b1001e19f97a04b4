ALTER TABLE "actions" ADD COLUMN "state_history" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
-- Actions from before the history began: their current state is the history they have.
UPDATE "actions" SET "state_history" = jsonb_build_array(jsonb_build_object('state', "state", 'at', "state_updated_at")) WHERE "state_history" = '[]'::jsonb;
