// @ts-check

/**
 * When a manifest sync first found the owner of an inventory gone from its source (ISO time, null
 * while it exists). What it applied is uninstalled only once it has been gone for
 * `imageAutomation.engine.uninstallGraceSeconds`, so a manifest that disappears for a moment (a
 * file being moved, a catalog refresh that fails halfway) uninstalls nothing, and a replica still
 * applying the owner under its lease finishes long before its objects are removed.
 *
 * @param {import('knex').Knex} knex
 */
exports.up = async function up(knex) {
  await knex.schema.alterTable('image_automation_inventories', table => {
    table
      .text('orphaned_at')
      .nullable()
      .comment(
        'ISO time the owner was first found deleted; null while it exists',
      );
  });
};

/** @param {import('knex').Knex} knex */
exports.down = async function down(knex) {
  await knex.schema.alterTable('image_automation_inventories', table => {
    table.dropColumn('orphaned_at');
  });
};
