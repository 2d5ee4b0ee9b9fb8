-- A panic alarm's ticket has a category: "tombol darurat" (panic button), P1, for
-- the police unless the city's routing rules say otherwise. It is the panic
-- channel's own: `categories.channel` names the one channel that files tickets
-- in a category (NULL: any), so it is never offered on the public form or as an
-- Open311 service, and intake refuses it from anywhere else.
ALTER TABLE categories ADD COLUMN channel text
    CHECK (channel IN ('open311', 'web', 'call112', 'panic', 'cctv', 'walk_in'));

INSERT INTO categories (code, name, name_en, description, default_priority, department_id,
                        channel)
VALUES ('tombol-darurat', 'Tombol darurat (alarm panik)', 'Panic button alarm',
        'Panic button alarm', 1, (SELECT id FROM departments WHERE code = 'polrestabes'),
        'panic')
ON CONFLICT (code) DO NOTHING;

INSERT INTO routing_rules (category_id, district_id, department_id)
SELECT c.id, NULL, d.id FROM categories c, departments d
WHERE c.code = 'tombol-darurat' AND d.code = 'polrestabes'
  AND NOT EXISTS (SELECT 1 FROM routing_rules r
                  WHERE r.category_id = c.id AND r.district_id IS NULL);

-- Alarms' tickets filed before there was a category for them.
UPDATE tickets SET category_id = (SELECT id FROM categories WHERE code = 'tombol-darurat')
WHERE channel = 'panic' AND category_id IS NULL;
